// Package errclass marks errors as permanent (ack the event and record why) or retryable
// (return it so the platform redelivers). Unmarked errors are treated as retryable: a transient
// failure misfiled as permanent loses an event, the reverse only costs a redelivery.
package errclass

import "errors"

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err, or anything it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}
