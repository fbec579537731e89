package service

import "errors"

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
	ErrEmptyAnswer    = errors.New("empty answer")
	ErrAnswerTooLong  = errors.New("answer too long")
	ErrNotServed      = errors.New("challenge not served before verification")
	ErrAppNameInvalid = errors.New("application name must be 1 to 100 printable characters")
)
