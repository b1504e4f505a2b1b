"""The lab PanDA's token naming against the vectors ENFORCERS.md section 2.2 records from panda-server 1.0.4
(``decode_token`` + ``clean_user_id``), and the auth-file name rules (``panda_config.py`` l.131-153)."""
import json

import pytest

from gridsec_lab.panda.naming import clean_user_id
from gridsec_lab.panda.tokens import TokenAuth, token_user_dn
from gridsec_lab.panda_tokens import write_auth_config

SUB = "e1eb758b-b73c-4761-bfff-adc793da409c"


@pytest.mark.parametrize("claims, dn, key", [
    ({"name": "Jean-Luc Dupont", "preferred_username": "jdupont", "sub": SUB},
     "Jean-luc Dupont/CN=nickname:jdupont", "Jean-luc Dupont"),
    ({"name": "John Doe", "preferred_username": "jdoe", "sub": SUB}, "John Doe/CN=nickname:jdoe", "John Doe"),
    ({"name": "Ronald McDonald", "sub": SUB}, "Ronald Mcdonald", "Ronald Mcdonald"),
    ({"name": "Anne-Marie van der Berg", "sub": SUB}, "Anne-marie Van Der Berg", "Anne-marie Van Der Berg"),
    ({"name": "Sean O'Brien", "sub": SUB}, "Sean O'brien", "Sean Obrien"),
    ({"name": "JOHN  DOE", "sub": SUB}, "John Doe", "John Doe"),
    ({"name": "Ella \u00c9tienne", "sub": SUB}, "Ella \u00c9tienne", "Ella \u00c9tienne"),
    ({"name": "John Doe 2", "preferred_username": "jdoe", "sub": SUB}, "John Doe 2/CN=nickname:jdoe", "John Doe"),
    ({"sub": SUB, "preferred_username": "ignored"}, SUB, SUB),
])
def test_token_user_names(claims, dn, key):
    assert token_user_dn(claims) == dn
    assert clean_user_id(dn) == key


def test_auth_files_give_policies_and_profiles(tmp_path):
    write_auth_config(str(tmp_path), "https://iam.example/.well-known/openid-configuration", ["panda-client", "c2"],
                      "/dev/null", roles=("production",))
    (tmp_path / "vo.example:ops_auth_config.json").write_text(json.dumps(
        {"client_id": "other", "oidc_config_url": "https://x/", "vo": "vo.example"}))
    auth = TokenAuth(str(tmp_path))
    assert sorted(auth.clients) == ["c2", "other", "panda-client"]
    assert {vo: sorted(groups) for vo, groups in auth.policies.items()} == {
        "atlas": ["production", "user"], "vo.example": ["ops"]}
    assert sorted(auth.vo_files) == ["atlas", "atlas.production", "vo.example.ops"]
    assert auth.vo_files["atlas"]["jwt_profile"] == "wlcg"


def test_bearer_without_token_is_not_an_error(tmp_path):
    auth = TokenAuth(str(tmp_path))
    decision = auth.decide("Bearer", "atlas", None)
    assert decision.authenticated and decision.dn is None
