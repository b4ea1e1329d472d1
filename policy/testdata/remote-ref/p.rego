package isogate

allow if true
