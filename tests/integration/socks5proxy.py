"""A small SOCKS5 proxy (RFC 1928 CONNECT, RFC 1929 user name / password) for the clients'
--proxy tests. It records each request (address type, host, port, user) and relays bytes both
ways. Listens on 127.0.0.1 on a free port; threads, stopped with stop()."""

import socket
import struct
import threading


class Socks5Proxy:
    def __init__(self, username=None, password=None):
        self.username = username
        self.password = password
        self.requests = []  # (atyp, host, port, user)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self.running = False
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _recv(c, n):
        out = b""
        while len(out) < n:
            b = c.recv(n - len(out))
            if not b:
                raise ConnectionError("closed")
            out += b
        return out

    def _serve(self, c):
        c.settimeout(10)
        try:
            ver, n = self._recv(c, 2)
            methods = self._recv(c, n)
            want = 2 if self.username is not None else 0
            if ver != 5 or want not in methods:
                c.sendall(b"\x05\xff")
                return
            c.sendall(bytes([5, want]))
            user = None
            if want == 2:
                _, ulen = self._recv(c, 2)
                user = self._recv(c, ulen).decode()
                (plen,) = self._recv(c, 1)
                pw = self._recv(c, plen).decode()
                ok = user == self.username and pw == self.password
                c.sendall(b"\x01" + (b"\x00" if ok else b"\x01"))
                if not ok:
                    return
            ver, cmd, _, atyp = self._recv(c, 4)
            if atyp == 1:
                host = socket.inet_ntoa(self._recv(c, 4))
            elif atyp == 4:
                host = socket.inet_ntop(socket.AF_INET6, self._recv(c, 16))
            elif atyp == 3:
                (ln,) = self._recv(c, 1)
                host = self._recv(c, ln).decode()
            else:
                return
            (port,) = struct.unpack("!H", self._recv(c, 2))
            self.requests.append((atyp, host, port, user))
            try:
                # The proxy resolves names ("socks5h"); tests only use loopback destinations.
                up = socket.create_connection((host, port), timeout=5)
            except OSError:
                c.sendall(b"\x05\x05\x00\x01" + b"\x00" * 6)
                return
            c.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", 0))
            c.settimeout(None)
            up.settimeout(None)
            threading.Thread(target=self._pipe, args=(up, c), daemon=True).start()
            self._pipe(c, up)
        except (OSError, ConnectionError, ValueError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
