# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The PanDA ban keys of one person (contract C1). Expected values: ENFORCERS.md §2.2, produced by running the
panda-server 1.0.4 ``decode_token`` and ``clean_user_id``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._errors import GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._panda.names import (
    panda_ban_keys, token_display_name, token_name_key)

CERN = "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdupont/CN=123456/CN="
UUID = "e1eb758b-b73c-4761-bfff-adc793da409c"


@pytest.mark.parametrize("claim, display, key", [
    ("Jean-Luc Dupont", "Jean-luc Dupont", "Jean-luc Dupont"),
    ("John Doe", "John Doe", "John Doe"),
    ("Ronald McDonald", "Ronald Mcdonald", "Ronald Mcdonald"),
    ("Anne-Marie van der Berg", "Anne-marie Van Der Berg", "Anne-marie Van Der Berg"),
    ("Sean O'Brien", "Sean O'brien", "Sean Obrien"),
    ("JOHN  DOE", "John Doe", "John Doe"),
    ("Ella Étienne", "Ella Étienne", "Ella Étienne"),
    ("ella étienne", "Ella Étienne", "Ella Étienne"),
    ("John Doe 2", "John Doe 2", "John Doe"),
    ("\tjohn\u00a0doe ", "John Doe", "John Doe"),
])
def test_token_name_rule_matches_panda_1_0_4(claim, display, key):
    assert token_display_name(claim) == display
    assert token_name_key(claim) == key


def test_one_person_needs_three_keys_x509_token_name_and_sub():
    keys = panda_ban_keys(dn=CERN + "Jean-Luc Dupont", token_name="Jean-Luc Dupont", token_subject=UUID)
    assert keys == ["Jean-Luc Dupont", "Jean-luc Dupont", UUID]


def test_same_name_on_both_paths_is_listed_once_and_case_is_kept():
    assert panda_ban_keys(dn=CERN + "John Doe", token_name="john doe") == ["John Doe"]
    assert panda_ban_keys(dn=CERN + "JOHN DOE", token_name="JOHN DOE") == ["JOHN DOE", "John Doe"]


def test_rfc2253_dn_gives_the_same_x509_key():
    rfc = "CN=Jean-Luc Dupont,CN=123456,CN=jdupont,OU=Users,OU=Organic Units,DC=cern,DC=ch"
    assert panda_ban_keys(dn=rfc) == ["Jean-Luc Dupont"]


def test_missing_name_claim_bans_the_subject_alone():
    assert panda_ban_keys(token_subject=UUID) == [UUID]
    assert panda_ban_keys(token_name=None, token_subject=" %s " % UUID) == [UUID]


@pytest.mark.parametrize("kwargs", [{}, {"token_name": "   "}, {"token_subject": ""}, {"token_name": ""},
                                    {"dn": "/DC=org/CM=John Doe"}])
def test_no_usable_identity_is_refused(kwargs):
    with pytest.raises(GridsecError):  # ConfigError, or DNError for a malformed DN
        panda_ban_keys(**kwargs)
