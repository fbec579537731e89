package service

import (
	"errors"
	"fmt"
)

// The errors the service returns for a caller's mistake or a challenge's state. Each API
// dialect maps them to its own codes in one function; anything else is a server failure,
// whose text is logged and never sent to a client.
var (
	ErrUnknownApp     = errors.New("unknown appkey")
	ErrAppDisabled    = errors.New("application is disabled")
	ErrBadSecret      = errors.New("wrong application secret")
	ErrKeyNotFound    = errors.New("no such key for this application")
	ErrKeyExpired     = errors.New("key expired")
	ErrKeyUsedUp      = errors.New("key already used up")
	ErrWrongAnswer    = errors.New("wrong answer")
	ErrNotServed      = errors.New("challenge not served before verification")
	ErrAppNameInvalid = errors.New("application name must be 1 to 100 printable characters")
)

// The answers refused before they are compared, which use up no attempt. Each wraps
// ErrBadAnswer, so that a dialect that does not tell them apart maps that one error.
var (
	ErrBadAnswer     = errors.New("answer refused before comparing")
	ErrEmptyAnswer   = fmt.Errorf("%w: empty", ErrBadAnswer)
	ErrAnswerTooLong = fmt.Errorf("%w: over %d characters", ErrBadAnswer, MaxAnswerLength)
	ErrInvalidAnswer = fmt.Errorf("%w: invalid UTF-8, or characters that show as nothing", ErrBadAnswer)
)
