"""The hardened XML parser: hostile replies must not read files, reach the network or blow up memory."""
import http.server
import threading

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._errors import RemoteError
from ansible_collections.gridsec.ops.plugins.module_utils._xml import child, local_name, parse_xml

SECRET = "gridsec-secret-4f2a9c"


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def _xxe(path):
    return ('<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file://%s">]>\n<r>&x;</r>' % path)


def test_plain_soap_parses_by_local_name_and_drops_blank_text():
    root = parse_xml(b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">\n  <e:Body>\n'
                     b'    <p:pingResponse xmlns:p="urn:x"><p:pingReturn>PAP version: 1.7.3</p:pingReturn>'
                     b'</p:pingResponse>\n  </e:Body>\n</e:Envelope>')
    body = child(root, "Body")
    assert local_name(body[0]) == "pingResponse"
    assert body.text is None  # blank text removed
    assert body[0][0].text == "PAP version: 1.7.3"


def test_external_entity_is_refused_and_file_not_read(secret_file):
    with pytest.raises(RemoteError) as info:
        parse_xml(_xxe(secret_file).encode(), server="PAP evil:8150", operation="listPolicies")
    assert "DOCTYPE" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value.details)
    assert str(info.value).startswith("PAP evil:8150, operation listPolicies:")


def test_external_entity_in_utf16_passes_byte_scan_but_is_still_refused(secret_file):
    # The raw-byte DOCTYPE check cannot see UTF-16; the parser must then neither resolve the entity nor
    # accept the document.
    data = _xxe(secret_file).replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    with pytest.raises(RemoteError) as info:
        parse_xml(data.encode("utf-16"))
    assert "DOCTYPE" in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value.details)


def test_billion_laughs_is_refused_quickly():
    lol = ['<!ENTITY lol0 "lol">']
    for i in range(1, 10):
        lol.append('<!ENTITY lol%d "%s">' % (i, "&lol%d;" % (i - 1) * 10))
    data = '<?xml version="1.0"?><!DOCTYPE r [%s]><r>&lol9;</r>' % "".join(lol)
    with pytest.raises(RemoteError):
        parse_xml(data.encode())
    with pytest.raises(RemoteError):
        parse_xml(data.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16"))


def test_external_dtd_is_never_fetched():
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY x "fetched">')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = "http://127.0.0.1:%d/evil.dtd" % server.server_address[1]
        doc = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r SYSTEM "%s"><r>&x;</r>' % url
        with pytest.raises(RemoteError):
            parse_xml(doc.encode("utf-16"))
        doc = '<!DOCTYPE r [<!ENTITY %% p SYSTEM "%s"> %%p;]><r/>' % url
        with pytest.raises(RemoteError):
            parse_xml(doc.encode())
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []


def test_oversized_document_is_refused_before_parsing():
    data = b"<r>" + b"a" * 2048 + b"</r>"
    with pytest.raises(RemoteError) as info:
        parse_xml(data, max_bytes=1024)
    assert "exceeds the limit of 1024 bytes" in str(info.value)
    assert parse_xml(data, max_bytes=4096).text == "a" * 2048


@pytest.mark.parametrize("data", [b"", b"   ", b"<r><unclosed></r>", b"not xml at all"])
def test_malformed_or_empty_reply_is_a_remote_error(data):
    with pytest.raises(RemoteError):
        parse_xml(data)
