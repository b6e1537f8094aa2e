"""A mail server for fault tests: the network edge of the e-mails a real worker sends.

:class:`SmtpSink` speaks just enough SMTP for Django's backend, on a free loopback
port, in a thread, and keeps every message whose DATA it acknowledged. With
``stall`` set, the next session stops answering after ``MAIL FROM``: its sender is
then stuck in the middle of a send, to be killed there."""

import socketserver
import threading


class _Session(socketserver.StreamRequestHandler):
    timeout = 60

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        sink: SmtpSink = self.server.sink  # type: ignore[attr-defined]
        self._say("220 sink ESMTP")
        while line := self.rfile.readline():
            command = line.decode(errors="replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self._say("250 sink")
            elif command.startswith("MAIL FROM"):
                if sink.stall.is_set():
                    sink.stall.clear()
                    sink.stalled.set()
                    while self.rfile.readline():  # until the sender dies
                        pass
                    return
                self._say("250 OK")
            elif command.startswith("DATA"):
                self._say("354 go ahead")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                with sink.lock:
                    sink.messages.append(b"".join(data))
                self._say("250 queued")
            elif command.startswith("QUIT"):
                self._say("221 bye")
                return
            else:  # RCPT, RSET, NOOP
                self._say("250 OK")


class SmtpSink:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.lock = threading.Lock()
        self.stall = threading.Event()
        self.stalled = threading.Event()
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Session)
        self.server.daemon_threads = True
        self.server.sink = self  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "SmtpSink":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def bodies(self) -> list[str]:
        with self.lock:
            return [m.decode(errors="replace") for m in self.messages]
