"""The pulumi-tls resources flashdrive declares, made for real with `cryptography` for the e2e double.

`create_tls(type_token, inputs) -> (id, outputs)`: inputs and outputs use the provider's camelCase
names with plain (unwrapped) values; outputs repeat the inputs, as the provider's state does. Covers
what flashdrive/database_tls.py uses: PrivateKey (ECDSA P224/P256/P384/P521, RSA, ED25519),
SelfSignedCert, CertRequest, LocallySignedCert (subject, DNS names, IP addresses, allowed uses,
validity, CA flag).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert"
CERT_REQUEST = "tls:index/certRequest:CertRequest"
LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert"
TYPES = (PRIVATE_KEY, SELF_SIGNED_CERT, CERT_REQUEST, LOCALLY_SIGNED_CERT)

_CURVES = {"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}
_SUBJECT_FIELDS = {
    "commonName": NameOID.COMMON_NAME, "organization": NameOID.ORGANIZATION_NAME,
    "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME, "country": NameOID.COUNTRY_NAME,
    "province": NameOID.STATE_OR_PROVINCE_NAME, "locality": NameOID.LOCALITY_NAME,
    "postalCode": NameOID.POSTAL_CODE, "serialNumber": NameOID.SERIAL_NUMBER,
}
_EXTENDED = {"server_auth": ExtendedKeyUsageOID.SERVER_AUTH, "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
             "code_signing": ExtendedKeyUsageOID.CODE_SIGNING, "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
             "timestamping": ExtendedKeyUsageOID.TIME_STAMPING, "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING}


def create_tls(typ: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if typ == PRIVATE_KEY:
        return _private_key(inputs)
    if typ == SELF_SIGNED_CERT:
        key = _load_key(inputs["privateKeyPem"])
        subject = _name(inputs.get("subject"))
        return _certificate(inputs, subject=subject, public_key=key.public_key(), issuer=subject, signer=key,
                            dns=inputs.get("dnsNames"), ips=inputs.get("ipAddresses"))
    if typ == CERT_REQUEST:
        key = _load_key(inputs["privateKeyPem"])
        builder = x509.CertificateSigningRequestBuilder().subject_name(_name(inputs.get("subject")))
        san = _san(inputs.get("dnsNames"), inputs.get("ipAddresses"))
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        csr = builder.sign(key, _digest(key))
        pem = csr.public_bytes(serialization.Encoding.PEM).decode()
        return _id(pem), {**inputs, "certRequestPem": pem, "keyAlgorithm": _algorithm(key)}
    if typ == LOCALLY_SIGNED_CERT:
        csr = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
        ca_cert = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
        ca_key = _load_key(inputs["caPrivateKeyPem"])
        try:
            san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            san = None
        outputs = _certificate(inputs, subject=csr.subject, public_key=csr.public_key(), issuer=ca_cert.subject,
                               signer=ca_key, san=san)[1]
        return _id(outputs["certPem"]), {**outputs, "caKeyAlgorithm": _algorithm(ca_key)}
    raise ValueError(f"the TLS double does not know {typ}")


def _private_key(inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    algorithm = inputs.get("algorithm", "RSA")
    if algorithm == "ECDSA":
        key = ec.generate_private_key(_CURVES[inputs.get("ecdsaCurve") or "P224"]())
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    elif algorithm == "RSA":
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(inputs.get("rsaBits") or 2048))
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.NoEncryption())
    elif algorithm == "ED25519":
        key = ed25519.Ed25519PrivateKey.generate()
        private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    else:
        raise ValueError(f"unknown key algorithm {algorithm}")
    public = key.public_key()
    public_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    public_der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    return hashlib.sha1(public_der).hexdigest(), {
        **inputs,
        "algorithm": algorithm,
        "privateKeyPem": private.decode(),
        "privateKeyPemPkcs8": pkcs8.decode(),
        "publicKeyPem": public_pem.decode(),
        "publicKeyFingerprintSha256": "SHA256:" + hashlib.sha256(public_der).hexdigest(),
    }


def _certificate(inputs: dict[str, Any], *, subject: x509.Name, public_key, issuer: x509.Name, signer,
                 dns=None, ips=None, san: x509.SubjectAlternativeName | None = None) -> tuple[str, dict[str, Any]]:
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    end = now + datetime.timedelta(hours=int(inputs.get("validityPeriodHours") or 0))
    is_ca = bool(inputs.get("isCaCertificate"))
    uses = list(inputs.get("allowedUses") or [])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    key_usage = x509.KeyUsage(
        digital_signature="digital_signature" in uses, content_commitment="content_commitment" in uses,
        key_encipherment="key_encipherment" in uses, data_encipherment="data_encipherment" in uses,
        key_agreement="key_agreement" in uses, key_cert_sign="cert_signing" in uses or is_ca,
        crl_sign="crl_signing" in uses, encipher_only=False, decipher_only=False)
    builder = builder.add_extension(key_usage, critical=True)
    extended = [_EXTENDED[use] for use in uses if use in _EXTENDED]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    san = san or _san(dns, ips)
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    cert = builder.sign(signer, _digest(signer))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return _id(pem), {**inputs, "certPem": pem, "validityStartTime": now.isoformat().replace("+00:00", "Z"),
                      "validityEndTime": end.isoformat().replace("+00:00", "Z"), "readyForRenewal": False,
                      "keyAlgorithm": _algorithm(signer)}


def _name(subject: dict[str, Any] | None) -> x509.Name:
    attributes = []
    for field, oid in _SUBJECT_FIELDS.items():
        value = (subject or {}).get(field)
        if value:
            attributes.append(x509.NameAttribute(oid, str(value)))
    return x509.Name(attributes)


def _san(dns, ips) -> x509.SubjectAlternativeName | None:
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns or []]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips or []]
    return x509.SubjectAlternativeName(names) if names else None


def _load_key(pem: str):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def _digest(key):
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _algorithm(key) -> str:
    return {ec.EllipticCurvePrivateKey: "ECDSA", rsa.RSAPrivateKey: "RSA"}.get(
        next((t for t in (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey) if isinstance(key, t)), None), "ED25519")


def _id(pem: str) -> str:
    return hashlib.sha256(pem.encode()).hexdigest()[:32]
