import datetime, os, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
N = int(sys.argv[1])
ca_key = ec.generate_private_key(ec.SECP256R1())
ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tenk CA")])
now = datetime.datetime.utcnow()
os.makedirs("pem", exist_ok=True)
lst = open("list", "w")
for i in range(N):
    k = ec.generate_private_key(ec.SECP256R1())
    name = "h%d.tenk.test" % i
    c = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
         .issuer_name(ca_name).public_key(k.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=90))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
         .sign(ca_key, hashes.SHA256()))
    p = "pem/%s.pem" % name
    with open(p, "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    lst.write("%s %s\n" % (os.path.abspath(p), name))
