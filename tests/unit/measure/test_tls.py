"""TLS settings become a client context; TLS failures become one line that says what to set."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from chaoskit.errors import LoadGeneratorFailed
from chaoskit.measure.tls import ResumingContext, client_context, describe_tls_error, is_tls_error
from chaoskit.model.load import TlsSpec


def verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
    error.verify_code, error.verify_message, error.reason = code, message, "CERTIFICATE_VERIFY_FAILED"
    return error


def test_an_untrusted_certificate_says_to_set_the_ca():
    """A certificate no trusted CA signed: the message names load.tls.ca (or verify: false)."""
    line = describe_tls_error(verify_error(19, "self-signed certificate in certificate chain"), "10.0.0.1:443", "api")
    assert line == ("TLS: the certificate of 10.0.0.1:443 is not trusted (self-signed certificate in certificate "
                    "chain); set load.tls.ca to the CA that signed it, or load.tls.verify: false")


@pytest.mark.parametrize("code", [62, 64])
def test_a_name_mismatch_says_to_set_the_server_name(code):
    """A certificate for other names (or addresses): the message names the name checked and load.tls.server_name."""
    line = describe_tls_error(verify_error(code, "Hostname mismatch"), "10.0.0.1:443", "api.example")
    assert "is not valid for 'api.example'" in line and "load.tls.server_name" in line


def test_a_plain_http_port_is_named_as_such():
    """WRONG_VERSION_NUMBER is what a plain HTTP answer to a TLS hello looks like."""
    error = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    error.reason = "WRONG_VERSION_NUMBER"
    assert "does it speak TLS on that port?" in describe_tls_error(error, "h:80", "h")
    assert is_tls_error(error) and not is_tls_error(ConnectionRefusedError())


def test_verify_false_checks_neither_chain_nor_name():
    """verify: false is a context that accepts any certificate."""
    context = client_context(TlsSpec(verify=False))
    assert isinstance(context, ResumingContext)
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname


def test_a_missing_client_certificate_fails_in_one_line(tmp_path: Path):
    """A client certificate that is not there: LoadGeneratorFailed naming load.tls.cert/key."""
    with pytest.raises(LoadGeneratorFailed, match=r"load.tls.cert/key could not be loaded: No such file"):
        client_context(TlsSpec(cert=str(tmp_path / "client.pem"), key=str(tmp_path / "client.key")))


def test_a_session_is_remembered_only_when_it_can_be_resumed():
    """No session yet (or one without ticket or id): nothing is offered on the next connection."""
    context = client_context(TlsSpec(verify=False))

    class NoSession:
        session = None

    context.remember(NoSession())
    context.remember(None)
    assert context.session is None
