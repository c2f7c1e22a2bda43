package alipay

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	money "github.com/Rhymond/go-money"
)

// maxValueDigits bounds an amount's minor-unit value so that it always fits an int64
// (999,999,999,999,999,999 minor units), which keeps sums in the simulator and in reports exact.
const maxValueDigits = 18

// ErrInvalidAmount is wrapped by every error about a malformed amount or currency.
var ErrInvalidAmount = errors.New("invalid amount")

// Amount is Antom's money type: an ISO 4217 currency code and a positive integer number of that
// currency's minor units, as a string ("1000" USD is 10.00 USD; "10" JPY is 10 JPY).
// Money is never a float anywhere in this project.
type Amount struct {
	Currency string `json:"currency"`
	Value    string `json:"value"`
}

// NewAmount returns the amount of value minor units of currency, or an error wrapping
// ErrInvalidAmount that says what is wrong with it.
func NewAmount(currency, value string) (Amount, error) {
	a := Amount{Currency: currency, Value: value}
	if err := a.Validate(); err != nil {
		return Amount{}, err
	}
	return a, nil
}

// ParseDecimal converts a decimal amount written the way people write it ("10.50", "10", "1000.5")
// in currency to minor units, using the currency's ISO 4217 exponent (USD 2, JPY 0, BHD 3).
// A value with more fraction digits than the currency has is refused, never rounded.
func ParseDecimal(currency, decimal string) (Amount, error) {
	exp, err := exponent(currency)
	if err != nil {
		return Amount{}, err
	}
	s := strings.TrimSpace(decimal)
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || !isDigits(whole) || (hasPoint && !isDigits(frac)) || (hasPoint && frac == "") {
		return Amount{}, fmt.Errorf("%w: %q is not a decimal number like 10.50", ErrInvalidAmount, decimal)
	}
	if len(frac) > exp {
		return Amount{}, fmt.Errorf("%w: %q has %d fraction digits but %s has %d", ErrInvalidAmount, decimal, len(frac), currency, exp)
	}
	minor := strings.TrimLeft(whole+frac+strings.Repeat("0", exp-len(frac)), "0")
	if minor == "" {
		return Amount{}, fmt.Errorf("%w: %q is zero; an amount must be positive", ErrInvalidAmount, decimal)
	}
	return NewAmount(currency, minor)
}

// MustParseDecimal is ParseDecimal for amounts known to be valid, such as constants in tests
// and examples; it panics on an invalid amount.
func MustParseDecimal(currency, decimal string) Amount {
	a, err := ParseDecimal(currency, decimal)
	if err != nil {
		panic(err)
	}
	return a
}

// Validate reports whether a is a well-formed Antom amount: a known ISO 4217 code in upper case
// and a positive integer of minor units without sign, point, exponent or leading zeros.
func (a Amount) Validate() error {
	if _, err := exponent(a.Currency); err != nil {
		return err
	}
	v := a.Value
	switch {
	case v == "":
		return fmt.Errorf("%w: value is empty", ErrInvalidAmount)
	case !isDigits(v):
		return fmt.Errorf("%w: value %q must be a whole number of minor units (digits only: no sign, point or exponent)", ErrInvalidAmount, v)
	case strings.TrimLeft(v, "0") == "":
		return fmt.Errorf("%w: value %q is zero; an amount must be positive", ErrInvalidAmount, v)
	case v[0] == '0':
		return fmt.Errorf("%w: value %q has leading zeros", ErrInvalidAmount, v)
	case len(v) > maxValueDigits:
		return fmt.Errorf("%w: value %q has more than %d digits", ErrInvalidAmount, v, maxValueDigits)
	}
	return nil
}

// Decimal returns the amount in major units as a decimal string ("1050" USD → "10.50").
// It returns the raw value when the currency is unknown.
func (a Amount) Decimal() string {
	exp, err := exponent(a.Currency)
	if err != nil || exp == 0 {
		return a.Value
	}
	v := a.Value
	if len(v) <= exp {
		v = strings.Repeat("0", exp-len(v)+1) + v
	}
	return v[:len(v)-exp] + "." + v[len(v)-exp:]
}

// String returns the amount for people and logs, e.g. "10.50 USD".
func (a Amount) String() string {
	return a.Decimal() + " " + a.Currency
}

// MinorUnits returns a's value as an integer number of minor units, for sums and remainders
// (a valid amount always fits an int64).
func (a Amount) MinorUnits() (int64, error) {
	if err := a.Validate(); err != nil {
		return 0, err
	}
	return strconv.ParseInt(a.Value, 10, 64)
}

// AmountOf returns the amount of units minor units of currency, or an error wrapping
// ErrInvalidAmount when units is not positive or the currency is unknown.
func AmountOf(currency string, units int64) (Amount, error) {
	if units <= 0 {
		return Amount{}, fmt.Errorf("%w: %d minor units; an amount must be positive", ErrInvalidAmount, units)
	}
	return NewAmount(currency, strconv.FormatInt(units, 10))
}

// IsZero reports whether a is the zero Amount (no currency, no value).
func (a Amount) IsZero() bool { return a == Amount{} }

// exponent returns the ISO 4217 minor-unit exponent of an upper-case currency code.
func exponent(currency string) (int, error) {
	if len(currency) != 3 || strings.ToUpper(currency) != currency {
		return 0, fmt.Errorf("%w: currency %q is not a three-letter upper-case ISO 4217 code", ErrInvalidAmount, currency)
	}
	c := money.GetCurrency(currency)
	if c == nil {
		return 0, fmt.Errorf("%w: currency %q is not an ISO 4217 code", ErrInvalidAmount, currency)
	}
	return c.Fraction, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
