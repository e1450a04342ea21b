"""The TLS double makes what pulumi-tls makes: a CA, and server certificates that chain to it."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tls_double import CERT_REQUEST, LOCALLY_SIGNED_CERT, PRIVATE_KEY, SELF_SIGNED_CERT, create_tls


def _chain():
    _, ca_key = create_tls(PRIVATE_KEY, {"algorithm": "ECDSA", "ecdsaCurve": "P256"})
    _, ca = create_tls(SELF_SIGNED_CERT, {"privateKeyPem": ca_key["privateKeyPem"], "isCaCertificate": True,
                                          "subject": {"commonName": "test CA"}, "validityPeriodHours": 24,
                                          "allowedUses": ["cert_signing", "crl_signing"]})
    _, key = create_tls(PRIVATE_KEY, {"algorithm": "ECDSA", "ecdsaCurve": "P256"})
    _, request = create_tls(CERT_REQUEST, {"privateKeyPem": key["privateKeyPem"], "subject": {"commonName": "main"},
                                           "dnsNames": ["main", "localhost"], "ipAddresses": ["127.0.0.1"]})
    _, signed = create_tls(LOCALLY_SIGNED_CERT, {"certRequestPem": request["certRequestPem"],
                                                 "caPrivateKeyPem": ca_key["privateKeyPem"],
                                                 "caCertPem": ca["certPem"], "validityPeriodHours": 48,
                                                 "allowedUses": ["digital_signature", "server_auth"]})
    return ca, signed


def test_the_server_certificate_is_signed_by_the_ca_for_the_requested_names():
    ca, signed = _chain()
    ca_cert = x509.load_pem_x509_certificate(ca["certPem"].encode())
    cert = x509.load_pem_x509_certificate(signed["certPem"].encode())
    cert.verify_directly_issued_by(ca_cert)
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["main", "localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds() == 48 * 3600


def test_outputs_repeat_the_inputs_and_ids_differ_per_resource():
    first, key = create_tls(PRIVATE_KEY, {"algorithm": "ECDSA", "ecdsaCurve": "P256"})
    second, _ = create_tls(PRIVATE_KEY, {"algorithm": "ECDSA", "ecdsaCurve": "P256"})
    assert first != second and key["ecdsaCurve"] == "P256" and key["privateKeyPem"].startswith("-----BEGIN EC")
