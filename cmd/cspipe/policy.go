package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/cspipe/cspipe/internal/policy"
)

func init() {
	register("policy", "render or explain a WIP provider attribute condition", runPolicy)
}

const policyUsage = `usage:
  cspipe policy render --image-repo R --digest sha256:... --service-account S [--service-account S2]
                       [--support-attribute STABLE] [--env NAME=V]... [--restart-policy Never]
                       [--allow-debug-image-unsafe]
  cspipe policy explain (--condition C | --condition-file F) (--claims-file J | --token-file T) [--json]
explain exits 0 when the condition admits the claims, 3 when it denies them.`

func runPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, policyUsage)
		return exitError{code: 2}
	}
	switch args[0] {
	case "render":
		return policyRender(args[1:], stdout, stderr)
	case "explain":
		return policyExplain(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, policyUsage)
		return nil
	}
	fmt.Fprintln(stderr, policyUsage)
	return exitError{code: 2, msg: fmt.Sprintf("unknown policy subcommand %q", args[0])}
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitError{code: 0}
		}
		return exitError{code: 2}
	}
	if fs.NArg() > 0 {
		return exitError{code: 2, msg: fmt.Sprintf("unexpected arguments: %q", fs.Args())}
	}
	return nil
}

func policyRender(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy render", flag.ContinueOnError)
	var p policy.Policy
	var sas, envs listFlag
	fs.StringVar(&p.ImageRepository, "image-repo", "", "image repository, without tag or digest")
	fs.StringVar(&p.ImageDigest, "digest", "", "image digest, sha256:<64 hex>")
	fs.Var(&sas, "service-account", "workload service account email (repeatable; any one suffices)")
	fs.StringVar(&p.SupportAttribute, "support-attribute", "STABLE", "required support attribute: LATEST, STABLE, USABLE or EXPERIMENTAL")
	fs.Var(&envs, "env", "pin an env override NAME=VALUE (repeatable)")
	fs.StringVar(&p.RestartPolicy, "restart-policy", "", "pin the restart policy: Never, Always or OnFailure")
	fs.BoolVar(&p.AllowDebugImageUnsafe, "allow-debug-image-unsafe", false, "UNSAFE: admit the debug image (drops the dbgstat and support-attribute clauses)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	p.ServiceAccounts = sas
	for _, e := range envs {
		name, v, ok := strings.Cut(e, "=")
		if !ok {
			return exitError{code: 2, msg: fmt.Sprintf("--env %q: want NAME=VALUE", e)}
		}
		if p.EnvOverrides == nil {
			p.EnvOverrides = map[string]string{}
		}
		if _, dup := p.EnvOverrides[name]; dup {
			return exitError{code: 2, msg: fmt.Sprintf("--env %s given twice", name)}
		}
		p.EnvOverrides[name] = v
	}
	cond, err := p.Render()
	if err != nil {
		return err
	}
	if p.AllowDebugImageUnsafe {
		fmt.Fprintln(stderr, "warning: --allow-debug-image-unsafe: this condition admits the debug image, whose operator can inspect the workload")
	}
	fmt.Fprintln(stdout, cond)
	return nil
}

func policyExplain(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("policy explain", flag.ContinueOnError)
	cond := fs.String("condition", "", "attribute condition (CEL)")
	condFile := fs.String("condition-file", "", "file holding the attribute condition")
	claimsFile := fs.String("claims-file", "", "JSON file holding the token's claims")
	tokenFile := fs.String("token-file", "", "file holding the attestation token (JWT); its signature is NOT checked")
	asJSON := fs.Bool("json", false, "print the verdict as JSON")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if (*cond == "") == (*condFile == "") {
		return exitError{code: 2, msg: "give exactly one of --condition and --condition-file"}
	}
	if (*claimsFile == "") == (*tokenFile == "") {
		return exitError{code: 2, msg: "give exactly one of --claims-file and --token-file"}
	}
	text := *cond
	if *condFile != "" {
		b, err := readFileLimit(*condFile, maxConditionFileBytes, "condition file")
		if err != nil {
			return err
		}
		text = strings.TrimSpace(string(b))
	}
	var claims map[string]any
	var err error
	fromToken := *tokenFile != ""
	if fromToken {
		claims, err = claimsFromTokenFile(*tokenFile)
	} else {
		claims, err = claimsFromJSONFile(*claimsFile)
	}
	if err != nil {
		return err
	}
	v, err := policy.Explain(text, claims)
	if err != nil {
		return err
	}
	if *asJSON {
		out := struct {
			policy.Verdict
			SignatureChecked bool `json:"signature_checked"`
		}{v, false}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printVerdict(stdout, v, fromToken)
	}
	if !v.Allow {
		return exitError{code: 3}
	}
	return nil
}

func printVerdict(w io.Writer, v policy.Verdict, fromToken bool) {
	if fromToken {
		fmt.Fprintln(w, "note: token payload decoded WITHOUT checking its signature, issuer or expiry")
	}
	if v.Allow {
		fmt.Fprintln(w, "verdict: ALLOW")
	} else {
		fmt.Fprintln(w, "verdict: DENY")
	}
	if v.Err != "" {
		fmt.Fprintf(w, "condition error: %s\n", v.Err)
	}
	for _, c := range v.Clauses {
		mark := "pass"
		if !c.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %s", mark, c.Expr)
		if c.Err != "" {
			fmt.Fprintf(w, "  (%s)", c.Err)
		}
		fmt.Fprintln(w)
	}
	if f, failed := v.FailedClause(); failed {
		fmt.Fprintf(w, "first failing clause: %s\n", f.Expr)
	}
}

func claimsFromJSONFile(path string) (map[string]any, error) {
	b, err := readFileLimit(path, maxClaimsFileBytes, "claims file")
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		return nil, fmt.Errorf("decoding claims %s: %w", path, err)
	}
	return claims, nil
}

// claimsFromTokenFile decodes a JWT's payload without verifying it: explain is a diagnostic
// tool for a token the user already holds, and says so in its output.
func claimsFromTokenFile(path string) (map[string]any, error) {
	b, err := readFileLimit(path, maxTokenFileBytes, "token file")
	if err != nil {
		return nil, err
	}
	parts := strings.Split(strings.TrimSpace(string(b)), ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("token %s: want a JWT of three dot-separated parts, got %d", path, len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("token %s: decoding payload: %w", path, err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("token %s: payload is not a JSON object: %w", path, err)
	}
	return claims, nil
}
