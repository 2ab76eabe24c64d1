package translate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// retryStrategy maps a KFP retry policy to Argo's. Argo's backoff factor is an integer: a fractional KFP factor
// is rounded up (1.5 -> 2), so retries never come sooner than KFP would make them.
func retryStrategy(p *RetryPolicy) (*wfv1.RetryStrategy, error) {
	limit, err := int32In(float64(p.MaxRetryCount), 0, math.MaxInt32, "maxRetryCount")
	if err != nil {
		return nil, err
	}
	rs := &wfv1.RetryStrategy{Limit: ptr(intstr.FromInt32(limit)), RetryPolicy: wfv1.RetryPolicyAlways}
	if p.BackoffDuration != "" || p.BackoffFactor != 0 || p.BackoffMaxDuration != "" {
		b := &wfv1.Backoff{}
		if p.BackoffDuration != "" {
			d, err := time.ParseDuration(p.BackoffDuration)
			if err != nil {
				return nil, fmt.Errorf("backoffDuration %q: %v", p.BackoffDuration, err)
			}
			b.Duration = d.String()
		}
		if p.BackoffFactor != 0 {
			factor, err := int32In(math.Ceil(p.BackoffFactor), 1, math.MaxInt32, "backoffFactor")
			if err != nil {
				return nil, err
			}
			b.Factor = ptr(intstr.FromInt32(factor))
		}
		if p.BackoffMaxDuration != "" {
			d, err := time.ParseDuration(p.BackoffMaxDuration)
			if err != nil {
				return nil, fmt.Errorf("backoffMaxDuration %q: %v", p.BackoffMaxDuration, err)
			}
			b.MaxDuration = d.String()
		}
		rs.Backoff = b
	}
	return rs, nil
}

func ptr[T any](v T) *T { return &v }

// condition translates a KFP trigger condition (a CEL subset over the task's own inputs) into an Argo `when`
// holding one expr-lang expression. Operands are typed by their IR type, so a value that contains quotes,
// spaces or operators is compared as data and can never change the expression.
func (c *compiler) condition(sc scope, t *TaskSpec, comp *ComponentSpec, cel string) (string, error) {
	toks, err := celTokens(cel)
	if err != nil {
		return "", fmt.Errorf("condition %q: %v", cel, err)
	}
	p := &celParser{toks: toks, operand: func(name string) (string, string, error) { return c.operand(sc, t, comp, name) }}
	out, err := p.or()
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	if err != nil {
		return "", fmt.Errorf("condition %q: %v (kfp-argo supports comparisons, !, &&, ||, int(), double(), string() over inputs.parameter_values)", cel, err)
	}
	return "{{=" + out + "}}", nil
}

// operand is the typed expr-lang value of one of the task's inputs, as the DAG's scope sees it at run time.
// For a STRING input it also returns raw, the reference to the value as it travels (perhaps inert), which
// a comparison with a plain literal may use instead of the decoded value (see rawComparable).
func (c *compiler) operand(sc scope, t *TaskSpec, comp *ComponentSpec, name string) (expr, raw string, err error) {
	if t.Inputs == nil || t.Inputs.Parameters[name] == nil {
		return "", "", fmt.Errorf("the task has no input %q", name)
	}
	ip := t.Inputs.Parameters[name]
	typ := ""
	if def := inputParam(comp, name); def != nil {
		typ = def.ParameterType
	}
	var ref string
	rawOK := true
	switch {
	case ip.RuntimeValue != nil:
		if typ == "" {
			typ = TypeString
		}
		text, err := canonicalValue(typ, ip.RuntimeValue.Constant)
		if err != nil {
			return "", "", err
		}
		ref = exprString(text)
		// The decoding form below would decode a constant that merely looks inert; keep it for those.
		rawOK = !needsInert(text)
	case ip.TaskOutputParameter != nil:
		prod := sc.tasks[ip.TaskOutputParameter.ProducerTask]
		if typ == "" {
			if out := c.s.Components[prod.ComponentRef.Name].OutputDefinitions; out != nil && out.Parameters[ip.TaskOutputParameter.OutputParameterKey] != nil {
				typ = out.Parameters[ip.TaskOutputParameter.OutputParameterKey].ParameterType
			}
		}
		ref = fmt.Sprintf("tasks[%s].outputs.parameters[%s]", exprString(fieldName(ip.TaskOutputParameter.ProducerTask)), exprString(paramName(ip.TaskOutputParameter.OutputParameterKey)))
	case ip.ComponentInputParameter != "":
		if typ == "" {
			if def := inputParam(sc.comp, ip.ComponentInputParameter); def != nil {
				typ = def.ParameterType
			}
		}
		text, ok := sc.inputs[ip.ComponentInputParameter]
		if !ok {
			return "", "", fmt.Errorf("input %q is not given", ip.ComponentInputParameter)
		}
		r, err := exprRef(text)
		if err != nil {
			return "", "", err
		}
		ref = r
	default:
		return "", "", fmt.Errorf("input %q has no value a condition can read", name)
	}
	switch typ {
	case TypeInteger:
		return "int(" + ref + ")", "", nil
	case TypeDouble:
		return "float(" + ref + ")", "", nil
	case TypeBoolean:
		return boolExpr(ref), "", nil
	case TypeList, TypeStruct:
		return "fromJSON(" + ref + ")", "", nil
	}
	// Strings may travel inert (they held braces): compare what they stand for.
	expr = fmt.Sprintf("(%[1]s startsWith '%[2]s' ? sprig.b64dec(sprig.trimSuffix('%[3]s', sprig.trimPrefix('%[2]s', %[1]s))) : %[1]s)", ref, inertPrefix, inertSuffix)
	if rawOK {
		raw = ref
	}
	return expr, raw, nil
}

// rawComparable reports a string literal that equals a STRING value exactly when it equals the value as it
// travels, so `==` and `!=` may skip decoding (which costs ~250 bytes of manifest per comparison). A value
// travels inert (starts with "%%kfpb64:") only when kfp-argo's encoders (inert, inertBefore/joinInert, the
// wrapper's and launcher's enc) made it so, and then it never equals such a literal, raw or decoded:
//   - the literal holds no "{{", "%%kfp", "$$" or "$(": raw, an inert value starts with "%%kfp"; decoded, a
//     value encoded because it held one of them still does;
//   - it is not empty: the "not given" marker decodes to "";
//   - it does not end in a newline: the wrapper and launcher encode an output ending in one;
//   - it does not end in "{": inertBefore and joinInert encode text ending in "{" that a placeholder follows,
//     and an empty placeholder value leaves exactly that text encoded.
func rawComparable(lit string) bool {
	return lit != "" && !needsInertValue(lit) && !strings.HasSuffix(lit, "\n") && !strings.HasSuffix(lit, "{")
}

// exprRef turns Argo reference text such as {{inputs.parameters.x}} into an expr-lang reference.
func exprRef(text string) (string, error) {
	inner := strings.TrimSuffix(strings.TrimPrefix(text, "{{"), "}}")
	parts := strings.SplitN(inner, ".", 3)
	if len(parts) != 3 || !strings.HasPrefix(text, "{{") || parts[1] != "parameters" {
		return "", fmt.Errorf("cannot read %s in an expression", text)
	}
	return fmt.Sprintf("%s.parameters[%s]", parts[0], exprString(parts[2])), nil
}

type celToken struct {
	kind string // op, str, num, ident, input
	text string
}

func celTokens(s string) ([]celToken, error) {
	var toks []celToken
	for i := 0; i < len(s); {
		r := rune(s[i])
		switch {
		case unicode.IsSpace(r):
			i++
		case strings.HasPrefix(s[i:], "inputs.parameter_values["):
			j := i + len("inputs.parameter_values[")
			if j >= len(s) || (s[j] != '\'' && s[j] != '"') {
				return nil, fmt.Errorf("expected a quoted input name at %d", j)
			}
			q := s[j]
			k := strings.IndexByte(s[j+1:], q)
			if k < 0 || j+1+k+1 >= len(s) || s[j+1+k+1] != ']' {
				return nil, fmt.Errorf("unterminated input reference at %d", i)
			}
			toks = append(toks, celToken{"input", s[j+1 : j+1+k]})
			i = j + 1 + k + 2
		case r == '\'' || r == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != s[i]; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			toks = append(toks, celToken{"str", b.String()})
			i = j + 1
		case unicode.IsDigit(r) || (r == '-' && i+1 < len(s) && unicode.IsDigit(rune(s[i+1])) && (len(toks) == 0 || toks[len(toks)-1].kind == "op")):
			j := i + 1
			for j < len(s) && (unicode.IsDigit(rune(s[j])) || s[j] == '.' || s[j] == 'e' || s[j] == 'E') {
				j++
			}
			if _, err := strconv.ParseFloat(s[i:j], 64); err != nil {
				return nil, fmt.Errorf("bad number %q", s[i:j])
			}
			toks = append(toks, celToken{"num", s[i:j]})
			i = j
		case unicode.IsLetter(r) || r == '_':
			j := i + 1
			for j < len(s) && (unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j])) || s[j] == '_') {
				j++
			}
			toks = append(toks, celToken{"ident", s[i:j]})
			i = j
		default:
			matched := false
			for _, op := range []string{"==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")"} {
				if strings.HasPrefix(s[i:], op) {
					toks = append(toks, celToken{"op", op})
					i += len(op)
					matched = true
					break
				}
			}
			if !matched {
				return nil, fmt.Errorf("unexpected %q at %d", s[i], i)
			}
		}
	}
	return toks, nil
}

type celParser struct {
	toks    []celToken
	pos     int
	operand func(name string) (expr, raw string, err error)
}

// celPrimary is a parsed primary: its expr-lang text, and what a comparison needs to skip decoding a string.
type celPrimary struct {
	expr string
	raw  string // the reference to a STRING input as it travels; empty for anything else
	lit  *string
}

func (p *celParser) peek(text string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == "op" && p.toks[p.pos].text == text
}

func (p *celParser) or() (string, error) { return p.binary("||", p.and) }

func (p *celParser) and() (string, error) { return p.binary("&&", p.unary) }

// binary parses operands joined by one left-associative operator.
func (p *celParser) binary(op string, operand func() (string, error)) (string, error) {
	left, err := operand()
	for err == nil && p.peek(op) {
		p.pos++
		var right string
		right, err = operand()
		left = left + " " + op + " " + right
	}
	return left, err
}

func (p *celParser) unary() (string, error) {
	if p.peek("!") {
		p.pos++
		x, err := p.unary()
		return "!" + x, err
	}
	return p.comparison()
}

func (p *celParser) comparison() (string, error) {
	left, err := p.primary()
	if err != nil {
		return "", err
	}
	for _, op := range []string{"==", "!=", "<=", ">=", "<", ">"} {
		if p.peek(op) {
			p.pos++
			right, err := p.primary()
			l, r := left.expr, right.expr
			if op == "==" || op == "!=" {
				switch {
				case left.raw != "" && right.lit != nil && rawComparable(*right.lit):
					l = left.raw
				case right.raw != "" && left.lit != nil && rawComparable(*left.lit):
					r = right.raw
				}
			}
			return "(" + l + " " + op + " " + r + ")", err
		}
	}
	return left.expr, nil
}

func (p *celParser) primary() (celPrimary, error) {
	if p.pos >= len(p.toks) {
		return celPrimary{}, fmt.Errorf("unexpected end")
	}
	tok := p.toks[p.pos]
	p.pos++
	switch tok.kind {
	case "input":
		expr, raw, err := p.operand(tok.text)
		return celPrimary{expr: expr, raw: raw}, err
	case "str":
		return celPrimary{expr: exprString(tok.text), lit: &tok.text}, nil
	case "num":
		return celPrimary{expr: tok.text}, nil
	case "ident":
		switch tok.text {
		case "true", "false":
			return celPrimary{expr: tok.text}, nil
		case "int", "double", "string":
			if !p.peek("(") {
				return celPrimary{}, fmt.Errorf("expected ( after %s", tok.text)
			}
			p.pos++
			x, err := p.or()
			if err != nil {
				return celPrimary{}, err
			}
			if !p.peek(")") {
				return celPrimary{}, fmt.Errorf("expected )")
			}
			p.pos++
			fn := map[string]string{"int": "int", "double": "float", "string": "string"}[tok.text]
			return celPrimary{expr: fn + "(" + x + ")"}, nil
		}
		return celPrimary{}, fmt.Errorf("unsupported identifier %q", tok.text)
	case "op":
		if tok.text == "(" {
			x, err := p.or()
			if err != nil {
				return celPrimary{}, err
			}
			if !p.peek(")") {
				return celPrimary{}, fmt.Errorf("expected )")
			}
			p.pos++
			return celPrimary{expr: "(" + x + ")"}, nil
		}
	}
	return celPrimary{}, fmt.Errorf("unexpected %q", tok.text)
}

// boolExpr reads a BOOLEAN value the way KFP's launcher does (Go's strconv.ParseBool of the trimmed text), so a
// value written as True by a component that no wrapper or launcher normalises still counts as true.
func boolExpr(x string) string {
	return "(sprig.trim(string(" + x + ")) in ['1', 't', 'T', 'TRUE', 'true', 'True'])"
}
