package crypto_test

import (
	"fmt"

	"github.com/isogate/isogate/crypto"
)

// The core makes a session, the iframe derives the same keys from its
// secret, and each side seals in its own direction. A frame opens once.
func Example() {
	secret, id := crypto.NewSession()
	core, err := crypto.DeriveKeys(secret[:], id)
	if err != nil {
		panic(err)
	}
	iframe, _ := crypto.DeriveKeys(secret[:], id) // WebCrypto, in the real iframe

	frame, _ := crypto.NewSealer(iframe, crypto.ToCore).Seal(nil, []byte(`{"type":"invoke","id":1}`))
	opener := crypto.NewOpener(core, crypto.ToCore)
	plaintext, seq, err := opener.Open(nil, frame)
	fmt.Println(string(plaintext), seq, err)
	_, _, err = opener.Open(nil, frame) // replayed
	fmt.Println(err)
	_, _, err = crypto.NewOpener(core, crypto.ToFrame).Open(nil, frame) // reflected back as the other direction
	fmt.Println(err)
	// Output:
	// {"type":"invoke","id":1} 1 <nil>
	// crypto: cannot open frame
	// crypto: cannot open frame
}
