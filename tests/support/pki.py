"""Throwaway CAs and certificates for the loopback servers (kube-apiserver, Pebble)."""
import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def _name(cn, org=None):
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _sign(subject, key, issuer, issuer_key, ca=False, sans=(), client=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               # Python >= 3.13 verifies strictly (VERIFY_X509_STRICT): it needs the key identifiers.
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        usage = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH if client else x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if sans:
        names = []
        for s in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                names.append(x509.DNSName(s))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(directory):
    """Write ca, apiserver serving cert and a service-account key; return paths."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("autoextender-test-ca")
    ca = _sign(ca_name, ca_key, ca_name, ca_key, ca=True)
    srv_key = ec.generate_private_key(ec.SECP256R1())
    srv = _sign(_name("kube-apiserver"), srv_key, ca_name, ca_key,
                sans=("127.0.0.1", "localhost", "kubernetes", "kubernetes.default"))
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    files = {
        "ca.crt": ca.public_bytes(serialization.Encoding.PEM),
        "apiserver.crt": srv.public_bytes(serialization.Encoding.PEM),
        "apiserver.key": _pem_key(srv_key),
        "sa.key": _pem_key(sa_key),
        "sa.pub": sa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo),
    }
    paths = {}
    for name, data in files.items():
        path = "%s/%s" % (directory, name)
        with open(path, "wb") as f:
            f.write(data)
        paths[name] = path
    return paths


def make_serving_pki(directory, name, sans):
    """A CA of its own and one serving certificate for ``sans``; paths of ca.crt, <name>.crt, <name>.key."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("autoextender-test-%s-ca" % name)
    ca = _sign(ca_name, ca_key, ca_name, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _sign(_name(name), key, ca_name, ca_key, sans=sans)
    files = {"ca.crt": ca.public_bytes(serialization.Encoding.PEM),
             name + ".crt": cert.public_bytes(serialization.Encoding.PEM), name + ".key": _pem_key(key)}
    paths = {}
    for file_name, data in files.items():
        paths[file_name] = os.path.join(directory, file_name)
        fd = os.open(paths[file_name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    return paths
