package logistics

import (
	"ecredit/account"
	"ecredit/errs"
)

// Scopes of logistics data. As in package record, this package maps roles
// to its own scopes (RoleScopes) with account's Scope type.
const (
	// ScopeParcelsWrite: report parcels and tracking events — a logistics
	// account for its own firm only; the credit office for any firm.
	ScopeParcelsWrite account.Scope = "parcels:write"
	// ScopeComplaints: report complaints about any firm's parcels
	// (departments: the postal administration receives them).
	ScopeComplaints account.Scope = "parcels:complaints"
	// ScopeParcelsRead: read parcels, tracking and the metrics with the
	// couriers — a logistics account of its own firm only; departments and
	// the credit office of every firm.
	ScopeParcelsRead account.Scope = "parcels:read"
	// ScopeParcelsOrders: read the tracking of the waybills of the
	// platform's own orders (platforms).
	ScopeParcelsOrders account.Scope = "parcels:orders"
)

// RoleScopes are the logistics scopes of each role.
var RoleScopes = map[account.Role][]account.Scope{
	account.RoleAdmin:      {ScopeParcelsWrite, ScopeComplaints, ScopeParcelsRead},
	account.RoleDepartment: {ScopeComplaints, ScopeParcelsRead},
	account.RoleLogistics:  {ScopeParcelsWrite, ScopeParcelsRead},
	account.RolePlatform:   {ScopeParcelsOrders},
}

// Can reports whether the actor holds a logistics scope.
func Can(a account.Actor, s account.Scope) bool {
	for _, x := range RoleScopes[a.Role] {
		if x == s {
			return true
		}
	}
	return false
}

func denied(a account.Actor, what string) error {
	if a.Role == account.RolePublic || a.Role == "" {
		return &errs.Error{Code: errs.Unauthorized, Message: "需要 API 密钥或登录 (authentication required)"}
	}
	return &errs.Error{Code: errs.Forbidden, Message: "角色「" + a.Role.Label() + "」不能" + what + " (not allowed)"}
}

// ownFirmOnly reports whether the actor is bound to one firm (a logistics
// account), whose data alone it may touch.
func ownFirmOnly(a account.Actor) bool { return a.Role == account.RoleLogistics }
