package trace

import (
	"strconv"

	"ecredit/account"
	"ecredit/errs"
)

// Scopes of traceability. Like package record, this package maps roles to
// its own scopes (RoleScopes); they use account.Scope so that they can move
// into package account unchanged.
//
// Besides the scopes, a producer acts on its own products: any account
// whose subject (account.Actor.SubjectID) is the product's producer may
// register the product and its batches, submit produced, inspected
// (self-inspection), listed and shipped events for them, read their
// forward trace and recall them. ecredit has no producer role yet; the
// credit office gives a producer an account with subject_id set.
const (
	// ScopeTraceWrite: products, batches and events of every type for
	// any producer (departments, the credit office).
	ScopeTraceWrite account.Scope = "trace:write"
	// ScopeTraceInspect: inspected events with their report number
	// (third-party testing agencies).
	ScopeTraceInspect account.Scope = "trace:inspect"
	// ScopeTracePlatform: listed, sold, reviewed and complained events of
	// the platform's own shops; forward and backward traces of its own
	// orders; licence flags of its own shops' owners (platforms).
	ScopeTracePlatform account.Scope = "trace:platform"
	// ScopeTraceLogistics: shipped and signed events (logistics firms).
	ScopeTraceLogistics account.Scope = "trace:logistics"
	// ScopeTraceRecall: recall any batch (departments, the credit office).
	ScopeTraceRecall account.Scope = "trace:recall"
	// ScopeTraceRead: every order of a forward trace, any order's
	// backward trace, any seller's licence flags.
	ScopeTraceRead account.Scope = "trace:read"
)

// RoleScopes are the trace scopes of each role.
var RoleScopes = map[account.Role][]account.Scope{
	account.RoleAdmin:      {ScopeTraceWrite, ScopeTraceInspect, ScopeTraceRecall, ScopeTraceRead},
	account.RoleDepartment: {ScopeTraceWrite, ScopeTraceInspect, ScopeTraceRecall, ScopeTraceRead},
	account.RolePlatform:   {ScopeTracePlatform},
	account.RoleLogistics:  {ScopeTraceLogistics},
	account.RoleAgency:     {ScopeTraceInspect},
}

// Can reports whether the actor holds a trace scope.
func Can(a account.Actor, s account.Scope) bool {
	for _, x := range RoleScopes[a.Role] {
		if x == s {
			return true
		}
	}
	return false
}

func anonymous(a account.Actor) bool { return a.Role == account.RolePublic || a.Role == "" }

var errAuth = &errs.Error{Code: errs.Unauthorized, Message: "需要 API 密钥或登录 (authentication required)"}

func forbidden(a account.Actor, what string) error {
	if anonymous(a) {
		return errAuth
	}
	return &errs.Error{Code: errs.Forbidden, Message: "角色「" + a.Role.Label() + "」" + what}
}

// isProducer reports whether the actor acts for the producer subject.
func isProducer(a account.Actor, producerID int64) bool {
	return !anonymous(a) && a.SubjectID != 0 && a.SubjectID == producerID
}

// producerTypes are the event types a producer may submit for its batches.
var producerTypes = map[EventType]bool{EventProduced: true, EventInspected: true, EventListed: true, EventShipped: true}

// mayPost says whether the actor may submit an event of type t about a
// batch of producerID; shopOwned asks the caller to check that the event's
// shop is the platform's.
func mayPost(a account.Actor, t EventType, producerID int64) (shopOwned bool, err error) {
	switch {
	case t == EventRecalled:
		return false, &errs.Error{Code: errs.Invalid, Field: "type", Message: "召回请使用 POST /api/v1/batches/{gtin}/{batch}/recall (use the recall endpoint)"}
	case Can(a, ScopeTraceWrite):
		return false, nil
	case t == EventInspected && Can(a, ScopeTraceInspect):
		return false, nil
	case (t == EventShipped || t == EventSigned) && Can(a, ScopeTraceLogistics):
		return false, nil
	case (t == EventListed || t == EventSold || t == EventReviewed || t == EventComplained) && Can(a, ScopeTracePlatform):
		return true, nil
	case producerTypes[t] && isProducer(a, producerID):
		return false, nil
	}
	return false, forbidden(a, "不能报送「"+t.Label()+"」事件 (role may not submit this event type for this batch)")
}

// mayManage says whether the actor may register and change products and
// batches of producerID.
func mayManage(a account.Actor, producerID int64) error {
	if Can(a, ScopeTraceWrite) || isProducer(a, producerID) {
		return nil
	}
	return forbidden(a, "只能登记或修改本主体生产的产品和批次 (only the producer, a department or the credit office may register or change products and batches)")
}

// SourceKey is the key event ids are scoped to: the account, or the
// actor's name for the CLI and the demo.
func SourceKey(a account.Actor) string {
	if a.AccountID != 0 {
		return "account:" + strconv.FormatInt(a.AccountID, 10)
	}
	return "name:" + a.Name
}
