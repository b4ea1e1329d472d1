package other

allow if true
