package code

import "testing"

func BenchmarkParse(b *testing.B) {
	inputs := []string{"91350100M000100Y43", "11010519491231002X", "362322198709086409", "4006381333931", "130802"}
	for i := 0; b.Loop(); i++ {
		Parse(inputs[i%len(inputs)], testNow)
	}
}

func BenchmarkMakeUSCC(b *testing.B) {
	for b.Loop() {
		if _, err := MakeUSCC('9', '1', "130802", "MA0ABCDE"); err != nil {
			b.Fatal(err)
		}
	}
}
