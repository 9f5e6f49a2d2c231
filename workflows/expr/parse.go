package expr

import (
	"fmt"
	"strings"
)

// node is a parsed expression.
type node interface{ pos() int }

type (
	litNode struct {
		v  any
		at int
	}
	pathNode struct { // a.b.c: a variable with fields, or a dotted library name
		names []string
		at    int
	}
	memberNode struct { // x.name where x is not a plain path
		x    node
		name string
		at   int
	}
	indexNode struct {
		x, index node
		at       int
	}
	callNode struct {
		name string
		args []node
		at   int
	}
	unaryNode struct {
		op string
		x  node
		at int
	}
	binaryNode struct {
		op   string
		l, r node
		at   int
	}
	listNode struct {
		elems []node
		at    int
	}
	mapNode struct {
		keys []string
		vals []node
		at   int
	}
)

func (n *litNode) pos() int    { return n.at }
func (n *pathNode) pos() int   { return n.at }
func (n *memberNode) pos() int { return n.at }
func (n *indexNode) pos() int  { return n.at }
func (n *callNode) pos() int   { return n.at }
func (n *unaryNode) pos() int  { return n.at }
func (n *binaryNode) pos() int { return n.at }
func (n *listNode) pos() int   { return n.at }
func (n *mapNode) pos() int    { return n.at }

// Expr is a compiled expression.
type Expr struct {
	src  string
	root node
}

// String returns the expression's source text (without `${` and `}`).
func (e *Expr) String() string { return e.src }

// Parse compiles the text of an expression (what is between `${` and `}`).
func Parse(src string) (*Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", src, err)
	}
	p := &parser{toks: toks}
	n, err := p.expr()
	if err == nil && p.peek().kind != tEOF {
		err = fmt.Errorf("unexpected %q at offset %d", p.peek().text, p.peek().pos)
	}
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", src, err)
	}
	return &Expr{src: src, root: n}, nil
}

// Template reports whether s is a whole-string expression `${…}` and returns its inside.
func Template(s string) (string, bool) {
	if strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
		return s[2 : len(s)-1], true
	}
	return "", false
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) isOp(text string) bool {
	t := p.peek()
	return t.kind == tOp && t.text == text
}

func (p *parser) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == tIdent && (t.text == word || t.text == strings.ToUpper(word))
}

func (p *parser) expect(text string) error {
	if !p.isOp(text) {
		t := p.peek()
		if t.kind == tEOF {
			return fmt.Errorf("expected %q at end", text)
		}
		return fmt.Errorf("expected %q at offset %d, found %q", text, t.pos, t.text)
	}
	p.i++
	return nil
}

// Precedence, loosest first: or; and; comparison, equality and `in`; + -; * / // %; unary
// `not` and `-`; then . [] and calls (the Workflows "order of operations" table).
func (p *parser) expr() (node, error) { return p.or() }

func (p *parser) or() (node, error) {
	l, err := p.and()
	for err == nil && p.isKeyword("or") {
		at := p.next().pos
		var r node
		if r, err = p.and(); err == nil {
			l = &binaryNode{op: "or", l: l, r: r, at: at}
		}
	}
	return l, err
}

func (p *parser) and() (node, error) {
	l, err := p.compare()
	for err == nil && p.isKeyword("and") {
		at := p.next().pos
		var r node
		if r, err = p.compare(); err == nil {
			l = &binaryNode{op: "and", l: l, r: r, at: at}
		}
	}
	return l, err
}

func (p *parser) compare() (node, error) {
	l, err := p.additive()
	for err == nil {
		var op string
		switch {
		case p.isOp("=="), p.isOp("!="), p.isOp("<"), p.isOp("<="), p.isOp(">"), p.isOp(">="):
			op = p.peek().text
		case p.peek().kind == tIdent && p.peek().text == "in":
			op = "in"
		default:
			return l, nil
		}
		at := p.next().pos
		var r node
		if r, err = p.additive(); err == nil {
			l = &binaryNode{op: op, l: l, r: r, at: at}
		}
	}
	return l, err
}

func (p *parser) additive() (node, error) {
	l, err := p.multiplicative()
	for err == nil && (p.isOp("+") || p.isOp("-")) {
		t := p.next()
		var r node
		if r, err = p.multiplicative(); err == nil {
			l = &binaryNode{op: t.text, l: l, r: r, at: t.pos}
		}
	}
	return l, err
}

func (p *parser) multiplicative() (node, error) {
	l, err := p.unary()
	for err == nil && (p.isOp("*") || p.isOp("/") || p.isOp("//") || p.isOp("%")) {
		t := p.next()
		var r node
		if r, err = p.unary(); err == nil {
			l = &binaryNode{op: t.text, l: l, r: r, at: t.pos}
		}
	}
	return l, err
}

func (p *parser) unary() (node, error) {
	if p.isKeyword("not") {
		at := p.next().pos
		x, err := p.unary()
		return &unaryNode{op: "not", x: x, at: at}, err
	}
	if p.isOp("-") {
		at := p.next().pos
		x, err := p.unary()
		return &unaryNode{op: "-", x: x, at: at}, err
	}
	return p.postfix()
}

func (p *parser) postfix() (node, error) {
	x, err := p.primary()
	for err == nil {
		switch {
		case p.isOp("."):
			p.next()
			t := p.next()
			if t.kind != tIdent {
				return nil, fmt.Errorf("expected a field name after '.' at offset %d", t.pos)
			}
			if pn, ok := x.(*pathNode); ok {
				pn.names = append(pn.names, t.text)
				if p.isOp("(") {
					x, err = p.call(strings.Join(pn.names, "."), pn.at)
				}
				continue
			}
			x = &memberNode{x: x, name: t.text, at: t.pos}
		case p.isOp("["):
			at := p.next().pos
			var idx node
			if idx, err = p.expr(); err != nil {
				return nil, err
			}
			if err = p.expect("]"); err != nil {
				return nil, err
			}
			x = &indexNode{x: x, index: idx, at: at}
		default:
			return x, nil
		}
	}
	return x, err
}

func (p *parser) call(name string, at int) (node, error) {
	p.next() // (
	c := &callNode{name: name, at: at}
	for !p.isOp(")") {
		a, err := p.expr()
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, a)
		if !p.isOp(",") {
			break
		}
		p.next()
	}
	return c, p.expect(")")
}

func (p *parser) primary() (node, error) {
	t := p.next()
	switch t.kind {
	case tInt:
		return &litNode{v: t.i, at: t.pos}, nil
	case tFloat:
		return &litNode{v: t.f, at: t.pos}, nil
	case tString:
		return &litNode{v: t.text, at: t.pos}, nil
	case tIdent:
		switch t.text {
		case "true", "True", "TRUE":
			return &litNode{v: true, at: t.pos}, nil
		case "false", "False", "FALSE":
			return &litNode{v: false, at: t.pos}, nil
		case "null":
			return &litNode{v: nil, at: t.pos}, nil
		case "and", "or", "not", "in", "AND", "OR", "NOT":
			return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
		}
		if p.isOp("(") {
			return p.call(t.text, t.pos)
		}
		return &pathNode{names: []string{t.text}, at: t.pos}, nil
	case tOp:
		switch t.text {
		case "(":
			x, err := p.expr()
			if err != nil {
				return nil, err
			}
			return x, p.expect(")")
		case "[":
			l := &listNode{at: t.pos}
			for !p.isOp("]") {
				e, err := p.expr()
				if err != nil {
					return nil, err
				}
				l.elems = append(l.elems, e)
				if !p.isOp(",") {
					break
				}
				p.next()
			}
			return l, p.expect("]")
		case "{":
			m := &mapNode{at: t.pos}
			for !p.isOp("}") {
				k := p.next()
				if k.kind != tString && k.kind != tIdent {
					return nil, fmt.Errorf("map key must be a string at offset %d", k.pos)
				}
				if err := p.expect(":"); err != nil {
					return nil, err
				}
				v, err := p.expr()
				if err != nil {
					return nil, err
				}
				m.keys, m.vals = append(m.keys, k.text), append(m.vals, v)
				if !p.isOp(",") {
					break
				}
				p.next()
			}
			return m, p.expect("}")
		}
	case tEOF:
		return nil, fmt.Errorf("unexpected end of expression")
	}
	return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.pos)
}

// Functions lists the names of the functions the expression calls, for load-time checks.
func (e *Expr) Functions() []string {
	var out []string
	var walk func(n node)
	walk = func(n node) {
		switch x := n.(type) {
		case *callNode:
			out = append(out, x.name)
			for _, a := range x.args {
				walk(a)
			}
		case *memberNode:
			walk(x.x)
		case *indexNode:
			walk(x.x)
			walk(x.index)
		case *unaryNode:
			walk(x.x)
		case *binaryNode:
			walk(x.l)
			walk(x.r)
		case *listNode:
			for _, a := range x.elems {
				walk(a)
			}
		case *mapNode:
			for _, a := range x.vals {
				walk(a)
			}
		}
	}
	walk(e.root)
	return out
}
