package tokenizer

import "unicode"

// Hand-written equivalents of the split regexes that byte-level tokenizers use.
// The regexes need look-ahead (`\s+(?!\S)`), which Go's regexp does not have, so
// each is a function that returns where the regex's leftmost-first match starting
// at a given position ends. Every character is matched by some alternative, so
// the matches tile the text. Character classes follow Oniguruma's Unicode
// definitions: \p{L} letters, \p{N} numbers, \s the White_Space property. A byte
// that is not valid UTF-8 counts as one "other" character.

// The patterns as they appear in tokenizer.json files.
const (
	patternGPT2   = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	patternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patternQwen2  = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// splitterFor returns the hand-written splitter for a known pattern.
func splitterFor(pattern string) (func(string, func(string)), bool) {
	switch pattern {
	case patternGPT2:
		return splitGPT2, true
	case patternLlama3:
		return func(s string, emit func(string)) { splitWith(s, emit, llama3End, 3) }, true
	case patternQwen2:
		return func(s string, emit func(string)) { splitWith(s, emit, llama3End, 1) }, true
	}
	return nil, false
}

const (
	clsOther = iota
	clsLetter
	clsNumber
	clsSpace
)

var asciiClass [128]uint8

func init() {
	for r := rune(0); r < 128; r++ {
		asciiClass[r] = classSlow(r)
	}
}

func classSlow(r rune) uint8 {
	switch {
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.IsSpace(r): // Latin-1 spaces plus White_Space: Oniguruma's \s
		return clsSpace
	}
	return clsOther
}

func class(r rune) uint8 {
	if r < 128 {
		return asciiClass[r]
	}
	return classSlow(r)
}

// classAt returns the class and byte length of the character at s[i:].
func classAt(s string, i int) (uint8, int) {
	r, n := decodeRune(s[i:])
	return class(r), n
}

// runEnd returns the end of the run of characters of class cl starting at j.
func runEnd(s string, j int, cl uint8) int {
	for j < len(s) {
		c, n := classAt(s, j)
		if c != cl {
			break
		}
		j += n
	}
	return j
}

// contraction returns the byte length of the contraction suffix ('s 't 're 've
// 'm 'll 'd, without the apostrophe) at the start of s, or 0. With fold, ASCII
// case is ignored and U+017F (ſ) matches s, as under Unicode case folding.
func contraction(s string, fold bool) int {
	lower := func(i int) byte {
		if i >= len(s) {
			return 0
		}
		c := s[i]
		if fold && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		return c
	}
	switch lower(0) {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if lower(1) == 'e' {
			return 2
		}
	case 'l':
		if lower(1) == 'l' {
			return 2
		}
	case 0xC5: // ſ is C5 BF
		if fold && len(s) > 1 && s[1] == 0xBF {
			return 2
		}
	}
	return 0
}

// spaceEnd implements `\s+(?!\S)|\s+` at i (a whitespace character): the whole
// run if it ends the text, else the run less its last character, or the single
// character when the run has only one.
func spaceEnd(s string, i int) int {
	j, last := i, i
	for j < len(s) {
		c, n := classAt(s, j)
		if c != clsSpace {
			break
		}
		last = j
		j += n
	}
	if j == len(s) || last == i {
		return j
	}
	return last
}

func splitWith(s string, emit func(string), end func(string, int, int) int, arg int) {
	for i := 0; i < len(s); {
		j := end(s, i, arg)
		emit(s[i:j])
		i = j
	}
}

// splitGPT2 splits s as patternGPT2 does.
func splitGPT2(s string, emit func(string)) { splitWith(s, emit, gpt2End, 0) }

func gpt2End(s string, i, _ int) int {
	if s[i] == '\'' {
		if n := contraction(s[i+1:], false); n > 0 {
			return i + 1 + n
		}
	}
	cl, n := classAt(s, i)
	if s[i] == ' ' && i+1 < len(s) { // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
		if cl2, n2 := classAt(s, i+1); cl2 != clsSpace {
			return runEnd(s, i+1+n2, cl2)
		}
	}
	if cl != clsSpace {
		return runEnd(s, i+n, cl)
	}
	return spaceEnd(s, i)
}

// llama3End matches patternLlama3 (maxDigits 3) or patternQwen2 (maxDigits 1).
func llama3End(s string, i, maxDigits int) int {
	if s[i] == '\'' {
		if n := contraction(s[i+1:], true); n > 0 {
			return i + 1 + n
		}
	}
	cl, n := classAt(s, i)
	newline := s[i] == '\r' || s[i] == '\n'
	switch {
	case cl == clsLetter: // [^\r\n\p{L}\p{N}]?\p{L}+ without the optional char
		return runEnd(s, i+n, clsLetter)
	case cl != clsNumber && !newline && i+n < len(s): // ... with it
		if cl2, n2 := classAt(s, i+n); cl2 == clsLetter {
			return runEnd(s, i+n+n2, clsLetter)
		}
	case cl == clsNumber: // \p{N}{1,maxDigits}
		j := i + n
		for k := 1; k < maxDigits && j < len(s); k++ {
			c, m := classAt(s, j)
			if c != clsNumber {
				break
			}
			j += m
		}
		return j
	}
	start := i // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	if s[i] == ' ' && i+1 < len(s) {
		if cl2, _ := classAt(s, i+1); cl2 == clsOther {
			start = i + 1
		}
	}
	if c, _ := classAt(s, start); c == clsOther {
		j := runEnd(s, start, clsOther)
		for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
			j++
		}
		return j
	}
	// Here s[i] is whitespace. `\s*[\r\n]+`: up to and including the last
	// newline of the whitespace run, if it has one.
	lastNL := -1
	for j := i; j < len(s); {
		c, m := classAt(s, j)
		if c != clsSpace {
			break
		}
		if s[j] == '\r' || s[j] == '\n' {
			lastNL = j
		}
		j += m
	}
	if lastNL >= 0 {
		return lastNL + 1
	}
	return spaceEnd(s, i)
}
