#!/usr/bin/env bash
# Writes the certificates the TLS tests use into DIR (fresh each run, valid for 2 days):
#   ca.pem / ca.key            the test CA
#   other-ca.pem               a CA that signed nothing here (the "wrong CA" case)
#   server.pem / server.key    localhost (DNS) and 127.0.0.1 (IP), signed by the CA
#   wrong-host.pem / .key      kafka.invalid only, signed by the CA (the "wrong host name" case)
#   client.pem                 a client certificate (CN=tributary-test) and its private key,
#                              encrypted with the passphrase in client.pass, in one PEM file as
#                              Java's PEM keystores hold them
#   client-plain.pem           the same certificate with the key unencrypted
set -euo pipefail
dir=${1:?usage: make_test_certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
days=2
quiet() { "$@" >/dev/null 2>&1 || { echo "make_test_certs: failed: $*" >&2; "$@"; exit 1; }; }

make_ca() {
  quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days $days \
    -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# leaf NAME CN SAN EXTENDED_KEY_USAGE
leaf() {
  quiet openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$3" "$4" > "$1.ext"
  quiet openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days $days \
    -extfile "$1.ext"
  rm -f "$1.csr" "$1.ext"
}

make_ca ca "Tributary Test CA"
make_ca other-ca "Some Other CA"
leaf server localhost "DNS:localhost,IP:127.0.0.1" serverAuth
leaf wrong-host kafka.invalid "DNS:kafka.invalid" serverAuth
leaf client-leaf tributary-test "DNS:tributary-test" clientAuth
echo "test-key-passphrase" > client.pass
quiet openssl pkcs8 -topk8 -v2 aes-256-cbc -in client-leaf.key -out client-leaf.enc.key -passout file:client.pass
cat client-leaf.enc.key client-leaf.pem > client.pem
cat client-leaf.key client-leaf.pem > client-plain.pem
rm -f client-leaf.key client-leaf.enc.key ca.srl
