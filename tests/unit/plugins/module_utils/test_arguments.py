# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.opsbox.veeam_em.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.opsbox.veeam_em.plugins.module_utils import _arguments
from ansible_collections.opsbox.veeam_em.plugins.module_utils.client import EMClient

ENV = {"url": "VEEAM_EM_URL", "username": "VEEAM_EM_USERNAME", "password": "VEEAM_EM_PASSWORD",
       "validate_certs": "VEEAM_EM_VALIDATE_CERTS", "ca_path": "VEEAM_EM_CA_PATH", "timeout": "VEEAM_EM_TIMEOUT"}


@pytest.mark.parametrize("variant", ["DOCUMENTATION", "PLUGINS"])
def test_doc_fragment_matches_the_argument_spec(variant):
    documented = yaml.safe_load(getattr(ModuleDocFragment, variant))["options"]
    spec = _arguments.connection_argument_spec()
    assert set(documented) == set(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc["type"] == option["type"], name
        assert doc.get("default") == option.get("default"), name
        assert doc.get("required", False) == option.get("required", False), name
        assert doc.get("choices") == option.get("choices"), name
        if variant == "PLUGINS":
            assert [item["name"] for item in doc.get("env", [])] == ([ENV[name]] if name in ENV else []), name
        else:
            assert "env" not in doc
            if name in ENV:
                assert ENV[name] in " ".join(doc["description"]), name


def test_password_is_no_log_and_certificates_are_checked_by_default():
    spec = _arguments.connection_argument_spec()
    assert spec["password"]["no_log"] is True
    assert spec["validate_certs"]["default"] is True


def test_environment_fallbacks(monkeypatch):
    monkeypatch.setenv("VEEAM_EM_URL", "https://em.example.com:9398")
    monkeypatch.setenv("VEEAM_EM_USERNAME", "DOMAIN\\svc")
    monkeypatch.setenv("VEEAM_EM_PASSWORD", "s3cret")
    monkeypatch.setenv("VEEAM_EM_VALIDATE_CERTS", "no")
    monkeypatch.setenv("VEEAM_EM_TIMEOUT", "7")
    result = ArgumentSpecValidator(_arguments.connection_argument_spec()).validate({})
    assert not result.error_messages
    params = result.validated_parameters
    assert params["url"] == "https://em.example.com:9398" and params["username"] == "DOMAIN\\svc"
    assert params["validate_certs"] is False and params["timeout"] == 7
    assert "s3cret" in result._no_log_values  # pylint: disable=protected-access
    kwargs = _arguments.client_kwargs(params)
    assert "ca_path" not in kwargs
    client = EMClient(**kwargs)
    assert client.base_url == "https://em.example.com:9398/api/"
    assert "s3cret" not in repr(client)


def test_missing_libraries(monkeypatch):
    assert _arguments.missing_libraries() == []
    monkeypatch.setattr(_arguments._codec, "HAS_XMLTODICT", False)  # pylint: disable=protected-access
    monkeypatch.setattr(_arguments._codec, "XMLTODICT_IMPORT_ERROR", "trace")  # pylint: disable=protected-access
    assert _arguments.missing_libraries("json") == []
    assert _arguments.missing_libraries("xml") == [("xmltodict", "trace")]

    class Module:
        params = {"wire_format": "xml"}
        failed = None

        def fail_json(self, **kwargs):
            self.failed = kwargs
    module = Module()
    _arguments.fail_on_missing_libraries(module)
    assert "xmltodict" in module.failed["msg"] and module.failed["exception"] == "trace"


@pytest.mark.parametrize("option,value", [("page_size", 0), ("page_size", 10001), ("concurrency", 0), ("timeout", 0),
                                          ("retries", 0), ("wire_format", "yaml")])
def test_client_refuses_bad_tuning(option, value):
    from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMQueryError
    with pytest.raises(EMQueryError) as info:
        EMClient("https://em:9398", "u", "p", **{option: value})
    assert option in str(info.value)
