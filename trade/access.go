package trade

import (
	"ecredit/account"
	"ecredit/errs"
)

// Scopes of trade. Like package record, trade maps roles to its own scopes
// (RoleScopes) with account's Scope type, so that they can move into
// package account unchanged.
const (
	// ScopeOrdersWrite: report orders of the platform's own shops
	// (platforms; the credit office for any platform).
	ScopeOrdersWrite account.Scope = "orders:write"
	// ScopeOrdersRead: read orders (platforms: their own; departments and
	// the credit office: all).
	ScopeOrdersRead account.Scope = "orders:read"
	// ScopeReviewsWrite: submit a buyer's review, its 追评, and the
	// seller's rating of the buyer, for orders of the platform's own shops.
	// Buyers and sellers act through their platform.
	ScopeReviewsWrite account.Scope = "reviews:write"
	// ScopeReviewsFold: fold a review with a reason (platforms: their own
	// shops' reviews; the credit office: any).
	ScopeReviewsFold account.Scope = "reviews:fold"
	// ScopeEvaluationsWrite: submit third-party credit evaluations
	// (agencies).
	ScopeEvaluationsWrite account.Scope = "evaluations:write"
)

// RoleScopes are the trade scopes of each role.
var RoleScopes = map[account.Role][]account.Scope{
	account.RoleAdmin:      {ScopeOrdersWrite, ScopeOrdersRead, ScopeReviewsFold},
	account.RoleDepartment: {ScopeOrdersRead},
	account.RolePlatform:   {ScopeOrdersWrite, ScopeOrdersRead, ScopeReviewsWrite, ScopeReviewsFold},
	account.RoleAgency:     {ScopeEvaluationsWrite},
}

// Can reports whether the actor holds a trade scope.
func Can(a account.Actor, s account.Scope) bool {
	for _, x := range RoleScopes[a.Role] {
		if x == s {
			return true
		}
	}
	return false
}

func require(a account.Actor, s account.Scope) error {
	if Can(a, s) {
		return nil
	}
	if a.Role == account.RolePublic || a.Role == "" {
		return &errs.Error{Code: errs.Unauthorized, Message: "需要 API 密钥或登录 (authentication required)"}
	}
	return &errs.Error{Code: errs.Forbidden, Message: "当前角色「" + a.Role.Label() + "」无此权限 (missing scope " + string(s) + ")"}
}

// platformScoped reports whether the actor sees only its own platform's
// orders.
func platformScoped(a account.Actor) bool { return a.Role == account.RolePlatform }

// ownPlatform holds a platform to its own platform id in a filter: another
// platform's id is Forbidden (what says what it may not list), none is
// its own. Other roles' filters are left as they are.
func ownPlatform(a account.Actor, id *int64, what string) error {
	if !platformScoped(a) {
		return nil
	}
	if *id != 0 && *id != a.SubjectID {
		return &errs.Error{Code: errs.Forbidden, Field: "platform_id", Message: what}
	}
	*id = a.SubjectID
	return nil
}
