package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestCodes(t *testing.T) {
	if CodeOf(nil) != "" || CodeOf(errors.New("x")) != Internal {
		t.Fatal("CodeOf basics")
	}
	e := Field("credit_code", "bad %s", "check")
	w := fmt.Errorf("ctx: %w", Wrap("op", e))
	if CodeOf(w) != Invalid || FieldOf(w) != "credit_code" || MessageOf(w) != "bad check" {
		t.Fatalf("wrapped: %v %q %q", CodeOf(w), FieldOf(w), MessageOf(w))
	}
	if e.Op != "op" {
		t.Fatalf("Op not filled: %q", e.Op)
	}
	in := Wrap("db", errors.New("secret dsn password=x"))
	if MessageOf(in) == "secret dsn password=x" || CodeOf(in) != Internal {
		t.Fatal("internal cause leaked")
	}
	if Wrap("x", nil) != nil {
		t.Fatal("Wrap(nil)")
	}
}

func TestList(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("empty list is an error")
	}
	l.Add("name", "required")
	l.Add("phone", "bad")
	err := Wrap("op", l.Err())
	if CodeOf(err) != Invalid || FieldOf(err) != "name" {
		t.Fatalf("list err %v", err)
	}
	all := All(err)
	if len(all) != 2 || all[1].Field != "phone" {
		t.Fatalf("All = %v", all)
	}
	if got := All(E(Conflict, "dup")); len(got) != 1 || got[0].Code != Conflict {
		t.Fatalf("All(single) = %v", got)
	}
}
