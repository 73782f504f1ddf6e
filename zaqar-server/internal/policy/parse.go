package policy

import (
	"fmt"
	"strings"
)

// parse compiles an oslo.policy check string. Precedence as in oslo.policy:
// not binds tightest, then and, then or.
func parse(src string) (check, error) {
	toks := tokenize(src)
	if len(toks) == 0 {
		return always(true), nil
	}
	p := &parser{toks: toks}
	c, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return c, nil
}

func tokenize(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		for strings.HasPrefix(f, "(") {
			out = append(out, "(")
			f = f[1:]
		}
		var closing int
		for strings.HasSuffix(f, ")") && !strings.HasSuffix(f, ")s") {
			closing++
			f = f[:len(f)-1]
		}
		if f != "" {
			out = append(out, f)
		}
		for ; closing > 0; closing-- {
			out = append(out, ")")
		}
	}
	return out
}

type parser struct {
	toks []string
	pos  int
}

func (p *parser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *parser) or() (check, error) {
	return p.list("or", p.and, func(cs []check) check { return orC(cs) })
}

func (p *parser) and() (check, error) {
	return p.list("and", p.unary, func(cs []check) check { return andC(cs) })
}

// list parses operands separated by the keyword word.
func (p *parser) list(word string, operand func() (check, error), combine func([]check) check) (check, error) {
	c, err := operand()
	if err != nil {
		return nil, err
	}
	cs := []check{c}
	for strings.EqualFold(p.peek(), word) {
		p.pos++
		c, err := operand()
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	if len(cs) == 1 {
		return cs[0], nil
	}
	return combine(cs), nil
}

func (p *parser) unary() (check, error) {
	tok := p.peek()
	switch {
	case tok == "":
		return nil, fmt.Errorf("unexpected end of rule")
	case strings.EqualFold(tok, "not"):
		p.pos++
		c, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notC{c}, nil
	case tok == "(":
		p.pos++
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.pos++
		return c, nil
	}
	p.pos++
	return atom(tok)
}

func atom(tok string) (check, error) {
	switch tok {
	case "@":
		return always(true), nil
	case "!":
		return always(false), nil
	}
	kind, match, ok := strings.Cut(tok, ":")
	if !ok {
		return nil, fmt.Errorf("bad check %q", tok)
	}
	switch kind {
	case "role":
		return roleC(match), nil
	case "rule":
		return ruleC(match), nil
	case "is_admin":
		return isAdmin(strings.EqualFold(match, "true")), nil
	}
	return genericC{key: kind, match: match}, nil
}
