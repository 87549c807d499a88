package tokenizer

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens.
type addedToken struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// addedMatcher finds added tokens in text, leftmost-longest and without
// overlaps, like the Aho-Corasick automaton Hugging Face uses.
type addedMatcher struct {
	patterns []string
	tokens   []*addedToken
	byFirst  [256][]int32 // pattern indexes by first byte, longest first
}

func newAddedMatcher(patterns []string, tokens []*addedToken) *addedMatcher {
	m := &addedMatcher{patterns: patterns, tokens: tokens}
	for i, p := range patterns {
		m.byFirst[p[0]] = append(m.byFirst[p[0]], int32(i))
	}
	for b := range m.byFirst {
		l := m.byFirst[b]
		sort.SliceStable(l, func(i, j int) bool { return len(patterns[l[i]]) > len(patterns[l[j]]) })
	}
	return m
}

// find returns the leftmost-longest match at or after pos, skipping special
// tokens when literalSpecial is set; ok is false when there is none.
func (m *addedMatcher) find(s string, pos int, literalSpecial bool) (start, end int, tok *addedToken, ok bool) {
	for i := pos; i < len(s); i++ {
		for _, k := range m.byFirst[s[i]] {
			if literalSpecial && m.tokens[k].Special {
				continue
			}
			if strings.HasPrefix(s[i:], m.patterns[k]) {
				return i, i + len(m.patterns[k]), m.tokens[k], true
			}
		}
	}
	return 0, 0, nil, false
}

// split cuts s into the added tokens it contains and the text between them,
// calling emit in order with tok nil for text. It honours single_word, lstrip
// and rstrip as Hugging Face's AddedVocabulary.find_matches does: a match that
// is not a whole word is dropped (and the search goes on after it), lstrip and
// rstrip take the whitespace next to the token into the token.
func (m *addedMatcher) split(s string, literalSpecial bool, emit func(text string, off int, tok *addedToken)) {
	if m == nil || len(m.patterns) == 0 {
		if s != "" {
			emit(s, 0, nil)
		}
		return
	}
	done := 0 // s[:done] has been emitted
	for pos := 0; ; {
		start, stop, tok, ok := m.find(s, pos, literalSpecial)
		if !ok {
			break
		}
		pos = stop
		if tok.SingleWord && (start > 0 && endsWithWord(s[:start]) || stop < len(s) && startsWithWord(s[stop:])) {
			continue
		}
		if tok.LStrip {
			start = max(len(strings.TrimRightFunc(s[:start], unicode.IsSpace)), done)
		}
		if tok.RStrip {
			stop = len(s) - len(strings.TrimLeftFunc(s[stop:], unicode.IsSpace))
			pos = stop
		}
		if done < start {
			emit(s[done:start], done, nil)
		}
		emit(s[start:stop], start, tok)
		done = stop
	}
	if done < len(s) {
		emit(s[done:], done, nil)
	}
}

// isWordChar is Rust regex's Unicode \w: Alphabetic, marks, decimal digits,
// connector punctuation and the join controls.
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		unicode.IsMark(r) || unicode.IsDigit(r) || unicode.Is(unicode.Pc, r) || r == 0x200C || r == 0x200D
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return isWordChar(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isWordChar(r)
}
