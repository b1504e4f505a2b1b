"""Independent stdlib client of the real Rucio server, for fixtures and read-backs (not the collection's code)."""
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request


class Raw:
    def __init__(self, url, cafile):
        self.url = url
        self.cafile = cafile

    def context(self, cred=None):
        ctx = ssl.create_default_context(cafile=self.cafile)
        if cred is not None:
            ctx.load_cert_chain(cred.cert, cred.key)
        return ctx

    def call(self, method, path, headers=None, body=None, cred=None, token=None):
        headers = dict(headers or {})
        if token:
            headers["X-Rucio-Auth-Token"] = token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, method=method, headers=headers, data=data)
        try:
            with urllib.request.urlopen(req, context=self.context(cred), timeout=30) as reply:
                return reply.status, dict(reply.headers), reply.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def login_userpass(self, account, username, password):
        """(status, token or None)"""
        status, headers, _ = self.call("GET", "/auth/userpass", {"X-Rucio-Account": account,
                                                                 "X-Rucio-Username": username,
                                                                 "X-Rucio-Password": password})
        return status, headers.get("X-Rucio-Auth-Token")

    def login_x509(self, cred, account=None):
        status, headers, _ = self.call("GET", "/auth/x509", {"X-Rucio-Account": account} if account else {},
                                       cred=cred)
        return status, headers.get("X-Rucio-Auth-Token")

    def account(self, token, name):
        status, _, body = self.call("GET", "/accounts/%s" % urllib.parse.quote(name), {"Accept": "application/json"},
                                    token=token)
        return json.loads(body) if status == 200 else None

    def expect(self, want, method, path, **kwargs):
        status, headers, body = self.call(method, path, **kwargs)
        if status not in want:
            raise AssertionError("%s %s -> %d %r" % (method, path, status, body[:300]))
        return status, headers, body
