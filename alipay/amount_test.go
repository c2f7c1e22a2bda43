package alipay

import (
	"errors"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		currency, in string
		want         string // minor units; "" means an error is expected
	}{
		{"USD", "10.50", "1050"},
		{"USD", "10.5", "1050"},
		{"USD", "10", "1000"},
		{"USD", "0.01", "1"},
		{"USD", " 7.00 ", "700"},
		{"JPY", "10", "10"},
		{"JPY", "10.0", ""}, // JPY has no minor unit
		{"BHD", "1.234", "1234"},
		{"CLF", "1.0001", "10001"},
		{"USD", "10.505", ""}, // never rounds
		{"USD", "0", ""},
		{"USD", "0.00", ""},
		{"USD", "-1.00", ""},
		{"USD", "+1.00", ""},
		{"USD", "1e3", ""},
		{"USD", "1,000.00", ""},
		{"USD", ".5", ""},
		{"USD", "5.", ""},
		{"USD", "", ""},
		{"usd", "1.00", ""},
		{"XXQ", "1.00", ""},
		{"US", "1.00", ""},
		{"USD", "99999999999999999999", ""}, // more than 18 digits of minor units
	}
	for _, tt := range tests {
		got, err := ParseDecimal(tt.currency, tt.in)
		if tt.want == "" {
			if err == nil || !errors.Is(err, ErrInvalidAmount) {
				t.Errorf("ParseDecimal(%q, %q) = %v, %v; want ErrInvalidAmount", tt.currency, tt.in, got, err)
			}
			continue
		}
		if err != nil || got.Value != tt.want || got.Currency != tt.currency {
			t.Errorf("ParseDecimal(%q, %q) = %+v, %v; want value %s", tt.currency, tt.in, got, err, tt.want)
		}
	}
}

func TestAmountValidate(t *testing.T) {
	tests := []struct {
		a  Amount
		ok bool
	}{
		{Amount{"USD", "1000"}, true},
		{Amount{"JPY", "1"}, true},
		{Amount{"USD", "0"}, false},
		{Amount{"USD", "0100"}, false},
		{Amount{"USD", "10.00"}, false},
		{Amount{"USD", "-5"}, false},
		{Amount{"USD", "1e5"}, false},
		{Amount{"USD", " 5"}, false},
		{Amount{"USD", ""}, false},
		{Amount{"", "100"}, false},
		{Amount{"usd", "100"}, false},
		{Amount{"ZZZ", "100"}, false},
		{Amount{"USD", "123456789012345678"}, true},
		{Amount{"USD", "1234567890123456789"}, false},
	}
	for _, tt := range tests {
		err := tt.a.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tt.a, err, tt.ok)
		}
	}
}

func TestAmountDecimalRoundTrip(t *testing.T) {
	tests := []struct{ a, decimal, str string }{
		{"USD:1050", "10.50", "10.50 USD"},
		{"USD:5", "0.05", "0.05 USD"},
		{"USD:50", "0.50", "0.50 USD"},
		{"JPY:10", "10", "10 JPY"},
		{"BHD:1", "0.001", "0.001 BHD"},
	}
	for _, tt := range tests {
		a := Amount{Currency: tt.a[:3], Value: tt.a[4:]}
		if got := a.Decimal(); got != tt.decimal {
			t.Errorf("%v.Decimal() = %q, want %q", a, got, tt.decimal)
		}
		if got := a.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
		back, err := ParseDecimal(a.Currency, a.Decimal())
		if err != nil || back != a {
			t.Errorf("ParseDecimal(Decimal()) = %+v, %v; want %+v", back, err, a)
		}
	}
}

// FuzzParseDecimal checks that a parsed amount is always valid and survives a round trip, and
// that parsing never panics.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"10.50", "0", "1e3", "-1", "0.001", "999999999999999999", ".", "１０"} {
		f.Add("USD", s)
		f.Add("JPY", s)
		f.Add("BHD", s)
	}
	f.Fuzz(func(t *testing.T, currency, s string) {
		a, err := ParseDecimal(currency, s)
		if err != nil {
			if !errors.Is(err, ErrInvalidAmount) {
				t.Fatalf("error does not wrap ErrInvalidAmount: %v", err)
			}
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("ParseDecimal(%q,%q) = %+v, which does not validate: %v", currency, s, a, err)
		}
		back, err := ParseDecimal(a.Currency, a.Decimal())
		if err != nil || back != a {
			t.Fatalf("round trip of %+v: %+v, %v", a, back, err)
		}
	})
}

func TestMinorUnits(t *testing.T) {
	a := MustParseDecimal("USD", "10.50")
	if n, err := a.MinorUnits(); err != nil || n != 1050 {
		t.Fatalf("MinorUnits %d, %v", n, err)
	}
	if _, err := (Amount{Currency: "USD", Value: "1.5"}).MinorUnits(); !errors.Is(err, ErrInvalidAmount) {
		t.Errorf("malformed: %v", err)
	}
	if b, err := AmountOf("USD", 1050); err != nil || b != a {
		t.Errorf("AmountOf: %v, %v", b, err)
	}
	for _, n := range []int64{0, -1} {
		if _, err := AmountOf("USD", n); !errors.Is(err, ErrInvalidAmount) {
			t.Errorf("AmountOf(%d): %v", n, err)
		}
	}
}
