#!/usr/bin/env bash
# Makes the test certificates of tst_synctls (checked in; run again only to change them).
# Valid for 100 years, EC P-256. The CAs' keys are thrown away.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
days=36500

ca() { # name subject
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$tmp/$1.key" -out "$1.pem" -days $days -subj "/CN=$2" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # name ca subject-alt-names
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -keyout "$1.key" -out "$tmp/$1.csr" -subj "/CN=$1"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$3" > "$tmp/$1.ext"
    openssl x509 -req -in "$tmp/$1.csr" -CA "$2.pem" -CAkey "$tmp/$2.key" -CAcreateserial \
        -out "$1.pem" -days $days -extfile "$tmp/$1.ext"
}

ca ca "Meridian test CA"
ca other-ca "Another CA"
leaf node ca "IP:127.0.0.1,IP:::1,DNS:localhost"      # every test region
leaf stranger other-ca "IP:127.0.0.1,DNS:localhost"   # right name, CA nobody trusts
leaf misnamed ca "DNS:region.example.invalid"         # trusted CA, wrong name
rm -f ./*.srl
