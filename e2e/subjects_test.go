package e2e

import (
	"net/url"
	"strconv"
	"testing"
	"unicode"
)

// subjectRef is a subject of the demo city as the public API shows it.
type subjectRef struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	CreditCode string `json:"credit_code"`
	LegalRep   string `json:"legal_rep"`
}

func (s subjectRef) Path() string { return "/subjects/" + strconv.FormatInt(s.ID, 10) }

// pickOrg finds, through the public search API, an organisation of the
// demo city (a credit code; not one of skip) and a two-character run of its
// name that finds it on the portal's first result page.
func pickOrg(t *testing.T, c *City, skip ...int64) (subjectRef, string) {
	t.Helper()
	var all struct {
		Results []subjectRef `json:"results"`
	}
	c.GetJSON(t, "/api/v1/public/subjects?q="+url.QueryEscape("承德"), &all)
	count := map[string]int{}
	for _, s := range all.Results {
		for _, p := range pairs(s.Name) {
			count[p]++
		}
	}
	tries := 0
	for _, s := range all.Results {
		if s.CreditCode == "" || s.Kind != "merchant" || contains(skip, s.ID) {
			continue
		}
		for _, p := range pairs(s.Name) {
			if count[p] != 1 || tries >= 8 { // rare among the names seen
				continue
			}
			tries++
			var found struct {
				Results []subjectRef `json:"results"`
			}
			c.GetJSON(t, "/api/v1/public/subjects?q="+url.QueryEscape(p), &found)
			for _, f := range found.Results {
				if f.ID == s.ID && len(found.Results) <= 20 {
					return s, p
				}
			}
		}
	}
	t.Fatalf("no demo organisation with a distinctive two-character name part among %d results", len(all.Results))
	return subjectRef{}, ""
}

// pairs are the runs of two Chinese characters in a name, leaving out the
// city's name and the words of every company name.
func pairs(name string) []string {
	common := map[string]bool{"承德": true, "有限": true, "限公": true, "公司": true, "责任": true, "任公": true}
	r := []rune(name)
	var out []string
	for i := 0; i+1 < len(r); i++ {
		p := string(r[i : i+2])
		if unicode.Is(unicode.Han, r[i]) && unicode.Is(unicode.Han, r[i+1]) && !common[p] {
			out = append(out, p)
		}
	}
	return out
}

func contains(list []int64, v int64) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
