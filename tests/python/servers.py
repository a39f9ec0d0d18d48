"""What the binding tests share: fiche-server on a free loopback port, and a sync listener
that keeps every status it is told."""

import os
import subprocess

import fiche_mobile as fm


class Server:
    """fiche-server on a free loopback port (`--no-auth` unless `secured`)."""

    def __init__(self, data_dir, secured=False):
        options = [] if secured else ["--no-auth"]
        self.process = subprocess.Popen(
            [os.environ["FICHE_SERVER_BIN"], "--listen", "127.0.0.1:0", "--data-dir", data_dir, *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.process.stdout.readline()
        self.url = "ws://127.0.0.1:" + line.strip().rsplit(":", 1)[1]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=15)
        self.process.stdout.close()


class Status(fm.SyncListener):
    def __init__(self):
        self.seen = []

    def on_status(self, status):
        self.seen.append(status)
