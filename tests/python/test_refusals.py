"""Refused changes through the generated Python bindings of fiche-mobile, against a real
secured fiche-server process: a phone enrolled as read-only knows its role and is refused an
edit locally; a client it filed before it was enrolled is refused by the server, the sync
finishes, the status listener says "held" (never "up to date"), the refused list names it,
and dropping it brings the phone up to date.

Run by scripts/test.sh:  FICHE_PY_BINDINGS=DIR FICHE_SERVER_BIN=PATH python3 -m unittest ...
"""

import asyncio
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.environ["FICHE_PY_BINDINGS"])
import fiche_mobile as fm  # noqa: E402
from servers import Server, Status  # noqa: E402

SERVER = os.environ["FICHE_SERVER_BIN"]


def admin(data_dir, *args):
    out = subprocess.run([SERVER, "--data-dir", data_dir, "admin", *args], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def walk_in(first, last):
    return fm.WalkIn(
        client_type="person",
        first_name=first,
        last_name=last,
        company_name="",
        vat_number="",
        phone="",
        email="",
        birthday="",
        groups=[],
        notes="",
        consent=True,
    )


def live_until(store, url, done, status):
    """Live sync until `done(status.seen)` or 10 s."""
    store.sync_start(url, status)
    try:
        for _ in range(100):
            if done(status.seen):
                return True
            asyncio.run(asyncio.sleep(0.1))
        return False
    finally:
        store.sync_stop()


def has(kind):
    return lambda seen: any(isinstance(s, kind) for s in seen)


class RefusedFlow(unittest.TestCase):
    def test_a_read_only_phone_is_refused_locally_and_its_refused_change_never_blocks(self):
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "server")
            admin(data, "org-create", "acme", "--name", "Acme Travel")
            staff_code = admin(data, "device-enrol", admin(data, "member-add", "acme", "Sam", "--role", "staff"))
            reader_code = admin(data, "device-enrol", admin(data, "member-add", "acme", "Rita", "--role", "read-only"))
            server = Server(data, secured=True)
            try:
                desk = fm.FicheStore.open(os.path.join(tmp, "desk"), "sam", "FR")
                asyncio.run(desk.enrol(server.url, staff_code, "desk"))
                martin = desk.create_client(walk_in("Marie", "Martin")).id
                asyncio.run(desk.sync_once(server.url))

                phone = fm.FicheStore.open(os.path.join(tmp, "phone"), "rita", "FR")
                self.assertIsNone(phone.role())
                # Filed before the phone knew it is read-only: the server will refuse it.
                early = phone.create_client(walk_in("Jean", "Early")).id
                self.assertEqual(asyncio.run(phone.enrol(server.url, reader_code, "phone")), "read-only")
                self.assertEqual(phone.role(), "read-only")

                # The sync finishes, says what was refused, and is not "up to date".
                summary = asyncio.run(phone.sync_once(server.url))
                self.assertGreaterEqual(summary.refused, 1)
                refused = {r.id: r for r in phone.refused()}
                self.assertIn(early, refused)
                self.assertIn("read-only", refused[early].reason)
                self.assertEqual(refused[early].fields, ["new record"])
                self.assertEqual([r.id for r in phone.list("martin", 0, 50)], [martin])
                status = Status()
                self.assertTrue(live_until(phone, server.url, has(fm.SyncStatus.HELD), status), status.seen)
                self.assertTrue(has(fm.SyncStatus.REFUSED)(status.seen), status.seen)
                self.assertFalse(has(fm.SyncStatus.UP_TO_DATE)(status.seen), status.seen)

                # Refused here, before anything is written.
                with self.assertRaises(fm.FicheError.Unauthorised) as denied:
                    phone.edit_client(martin, walk_in("Marie", "Changed"))
                self.assertIn("you are read-only", str(denied.exception))

                # Dropped while syncing live: gone from the phone, which is then up to date.
                status = Status()
                phone.sync_start(server.url, status)
                try:
                    for _ in range(100):
                        if has(fm.SyncStatus.HELD)(status.seen):
                            break
                        asyncio.run(asyncio.sleep(0.1))
                    self.assertFalse(has(fm.SyncStatus.UP_TO_DATE)(status.seen), status.seen)
                    phone.drop_local(early)
                    for _ in range(100):
                        if has(fm.SyncStatus.UP_TO_DATE)(status.seen):
                            break
                        asyncio.run(asyncio.sleep(0.1))
                finally:
                    phone.sync_stop()
                self.assertTrue(has(fm.SyncStatus.UP_TO_DATE)(status.seen), status.seen)
                self.assertEqual([r.id for r in phone.list("early", 0, 50)], [])
                self.assertEqual(phone.refused(), [])
                self.assertEqual([r.id for r in phone.list("martin", 0, 50)], [martin])
            finally:
                server.stop()


if __name__ == "__main__":
    unittest.main()
