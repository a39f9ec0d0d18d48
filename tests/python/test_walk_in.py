"""The walk-in flow through the generated Python bindings of fiche-mobile, against a real
fiche-server process: a client filed with a photo while the server is down, a duplicate
warning for a second similar entry, then sync, and a second device sees the client and its
photo.

Run by scripts/test.sh:  FICHE_PY_BINDINGS=DIR FICHE_SERVER_BIN=PATH python3 -m unittest ...
"""

import asyncio
import os
import struct
import sys
import tempfile
import unittest
import zlib

sys.path.insert(0, os.environ["FICHE_PY_BINDINGS"])
import fiche_mobile as fm  # noqa: E402
from servers import Server, Status  # noqa: E402


def png(width, height):
    """A real PNG photo: a colour gradient."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(((x * 7) % 256, (y * 5) % 256, 128)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def walk_in(first, last, phone, email=""):
    return fm.WalkIn(
        client_type="person",
        first_name=first,
        last_name=last,
        company_name="",
        vat_number="",
        phone=phone,
        email=email,
        birthday="",
        groups=["walk-in"],
        notes="Came in for a quote.",
        consent=True,
    )


class WalkInFlow(unittest.TestCase):
    def test_walk_in_with_photo_offline_then_synced_to_another_device(self):
        with tempfile.TemporaryDirectory() as tmp:
            desk = fm.FicheStore.open(os.path.join(tmp, "desk"), "desk-1", "FR")
            self.assertIn("person", desk.settings().client_types)

            # Invalid input comes back field by field, and nothing is written.
            with self.assertRaises(fm.FicheError.Invalid) as bad:
                desk.create_client(walk_in("Marie", "Dupont", "not a phone"))
            fields = [p.field for p in bad.exception.problems]
            self.assertTrue(any(f.startswith("phones.") for f in fields), fields)
            self.assertEqual(desk.count(), 0)

            # Filed with no server running, photo included.
            created = desk.create_client(walk_in("Marie", "Dupont", "06 12 34 56 78", "marie@example.fr"))
            self.assertEqual(created.duplicates, [])
            photo = png(320, 240)
            info = desk.set_photo(created.id, photo, "marie.png")
            contact = fm.ContactInfo(first_name="Jean", last_name="Dupont", phone="+33687654321", email="")
            contact_id = desk.add_contact(created.id, contact, "husband")
            self.assertEqual(info.media_type, "image/png")
            self.assertIsNotNone(info.thumbnail)

            # A second, similar entry: the warning shows while typing and on filing.
            similar = desk.similar(walk_in("Marie", "Dupond", "+33612345678"))
            self.assertEqual([d.id for d in similar], [created.id])
            self.assertTrue(any("phone" in r for r in similar[0].reasons), similar[0].reasons)

            # Offline: a clear error, not a hang.
            with self.assertRaises(fm.FicheError.Offline):
                asyncio.run(desk.sync_once("ws://127.0.0.1:9"))

            server = Server(os.path.join(tmp, "server"))
            try:
                summary = asyncio.run(desk.sync_once(server.url))
                self.assertGreaterEqual(summary.uploaded, 2)  # the photo and its preview

                office = fm.FicheStore.open(os.path.join(tmp, "office"), "office-1", "FR")
                status = Status()
                office.sync_start(server.url, status)
                try:
                    for _ in range(100):
                        if office.count() == 1:
                            break
                        asyncio.run(asyncio.sleep(0.1))
                finally:
                    office.sync_stop()
                self.assertTrue(
                    any(isinstance(s, fm.SyncStatus.UP_TO_DATE) for s in status.seen), status.seen
                )
                rows = office.list("dupont", 0, 50)
                self.assertEqual([r.id for r in rows], [created.id])
                self.assertEqual(rows[0].phones, ["+33612345678"])
                card = office.client(created.id)
                self.assertEqual(card.photo.hash, info.hash)
                self.assertEqual([(c.id, c.role) for c in card.contacts], [(contact_id, "husband")])
                self.assertEqual(office.contact(contact_id).first_name, "Jean")
                self.assertIsNone(office.file(info.hash))
                fetched = asyncio.run(office.fetch_file(server.url, info.hash))
                self.assertEqual(fetched, photo)
                self.assertIn("FN:Marie Dupont", office.export_vcard(created.id))
            finally:
                server.stop()


if __name__ == "__main__":
    unittest.main()
