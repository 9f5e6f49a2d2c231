package expr

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Error tags the engine raises; they are the Workflows built-in error tags.
const (
	TagKeyError          = "KeyError"
	TagIndexError        = "IndexError"
	TagTypeError         = "TypeError"
	TagValueError        = "ValueError"
	TagZeroDivisionError = "ZeroDivisionError"
	TagRecursionError    = "RecursionError"
	TagHTTPError         = "HttpError"
	TagConnectionError   = "ConnectionError"
	TagTimeoutError      = "TimeoutError"
	TagOperationError    = "OperationError"
	TagSystemError       = "SystemError"
	TagCancelledError    = "CancelledError"
)

// Error is a raised Workflows value: usually a map with "tags" (list of strings) and "message",
// but `raise` may raise any value, e.g. a string.
type Error struct{ Value any }

// NewError returns an error map tagged tag with a formatted message.
func NewError(tag, format string, args ...any) *Error {
	return &Error{Value: map[string]any{
		"tags":    []any{tag},
		"message": fmt.Sprintf(format, args...),
	}}
}

func (e *Error) Error() string {
	if m, ok := e.Value.(map[string]any); ok {
		msg, _ := m["message"].(string)
		if tags := e.Tags(); len(tags) > 0 {
			return fmt.Sprintf("%v: %s", tags, msg)
		}
		if msg != "" {
			return msg
		}
	}
	if s, ok := e.Value.(string); ok {
		return s
	}
	b, err := json.Marshal(ToJSONable(e.Value))
	if err != nil {
		return fmt.Sprintf("%v", e.Value)
	}
	return string(b)
}

// Tags returns the error's tags (empty when the raised value is not a map with tags).
func (e *Error) Tags() []string {
	m, ok := e.Value.(map[string]any)
	if !ok {
		return nil
	}
	l, _ := m["tags"].([]any)
	var out []string
	for _, t := range l {
		if s, ok := t.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// HasTag reports whether the error carries tag.
func (e *Error) HasTag(tag string) bool { return slices.Contains(e.Tags(), tag) }

// ToJSONable converts a value into something encoding/json renders as Workflows does: bytes
// become a base64 string (encoding/json's []byte behaviour) and function references their name.
func ToJSONable(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ToJSONable(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = ToJSONable(e)
		}
		return out
	case FuncRef:
		return x.Name
	}
	return v
}
