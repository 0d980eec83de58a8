package web

import (
	"net/url"
	"strconv"
	"strings"

	"ecredit/errs"
	"ecredit/httpx"
)

// form carries submitted values back into a page together with the errors
// of each field, so that a rejected form is shown again with what was typed
// and a message next to each wrong field.
type form struct {
	Values  url.Values
	Errors  map[string]string
	General []string // errors not tied to a field on the form
}

func newForm(v url.Values) *form {
	if v == nil {
		v = url.Values{}
	}
	return &form{Values: v, Errors: map[string]string{}}
}

// Get returns the submitted value of a field.
func (f *form) Get(name string) string {
	if f == nil {
		return ""
	}
	return f.Values.Get(name)
}

// Checked reports whether a checkbox was ticked.
func (f *form) Checked(name string) bool {
	v := f.Get(name)
	return v == "1" || v == "on" || v == "true"
}

// Err returns the error message of a field, or "".
func (f *form) Err(name string) string {
	if f == nil {
		return ""
	}
	return f.Errors[name]
}

// HasErrors reports whether the form has any error.
func (f *form) HasErrors() bool { return f != nil && (len(f.Errors) > 0 || len(f.General) > 0) }

// fail records the field errors inside err. Fields named in known are put
// next to their input; any other error goes to the top of the form.
func (f *form) fail(err error, known ...string) {
	isKnown := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	list := errs.All(err)
	if len(list) == 0 {
		f.General = append(f.General, errs.MessageOf(err))
		return
	}
	for _, e := range list {
		msg := errs.MessageOf(e)
		if e.Field != "" && isKnown[e.Field] {
			if _, dup := f.Errors[e.Field]; !dup {
				f.Errors[e.Field] = msg
			}
			continue
		}
		if e.Field != "" && e.Field != "version" {
			msg = e.Field + "：" + msg
		}
		f.General = append(f.General, msg)
	}
}

// int64Field parses an optional integer field; a bad value is a field error.
func (f *form) int64Field(name, label string) int64 {
	v := strings.TrimSpace(f.Get(name))
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		f.Errors[name] = label + "必须是正整数 (must be a positive integer)"
		return 0
	}
	return n
}

// intField parses an optional int field.
func (f *form) intField(name, label string) int {
	return int(f.int64Field(name, label))
}

// pathID parses a numeric path value (httpx.ParseID: "7", never "+7").
func pathID(s string) (int64, bool) { return httpx.ParseID(s) }
