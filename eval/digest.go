package eval

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
)

// sha256Hex is the hex SHA-256 of data.
func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// fileSHA256 is the hex SHA-256 of the file at path, read as a stream.
func fileSHA256(path string) (_ string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// TokenizerInfo identifies the tokenizer of an evaluation: its model type,
// pre-tokenizer, vocabulary size and the digest of its tokenizer.json.
type TokenizerInfo struct {
	Model        string `json:"model"`
	PreTokenizer string `json:"pre_tokenizer,omitempty"`
	Vocab        int    `json:"vocab"`
	SHA256       string `json:"sha256"`
}

// describeTokenizer reads the fields of TokenizerInfo from a tokenizer.json;
// fields it cannot read stay empty (the digest always identifies the file).
func describeTokenizer(tokenizerJSON []byte) *TokenizerInfo {
	var doc struct {
		Model struct {
			Type  string          `json:"type"`
			Vocab json.RawMessage `json:"vocab"`
		} `json:"model"`
		PreTokenizer *struct {
			Type string `json:"type"`
		} `json:"pre_tokenizer"`
	}
	info := &TokenizerInfo{SHA256: sha256Hex(tokenizerJSON)}
	if json.Unmarshal(tokenizerJSON, &doc) != nil {
		return info
	}
	info.Model = doc.Model.Type
	if doc.PreTokenizer != nil {
		info.PreTokenizer = doc.PreTokenizer.Type
	}
	var vocab map[string]json.RawMessage
	if json.Unmarshal(doc.Model.Vocab, &vocab) == nil {
		info.Vocab = len(vocab)
	}
	return info
}
