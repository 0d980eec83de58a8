package record

import (
	"strconv"

	"ecredit/account"
	"ecredit/errs"
)

// Scopes for records. account.Role has no record scopes yet, so this
// package maps roles to them itself (RoleScopes); they use the same
// account.Scope type so that they can move into package account unchanged.
const (
	// ScopeRecordsWrite: submit, correct and withdraw records of every type
	// (departments and the credit office).
	ScopeRecordsWrite account.Scope = "records:write"
	// ScopeRecordsPlatform: submit commitments and open-type records about
	// the owners of the platform's own shops, and payment-fraud reports
	// (platforms).
	ScopeRecordsPlatform account.Scope = "records:platform"
	// ScopeRecordsFraud: submit and read payment-fraud reports (platforms,
	// agencies, departments, the credit office).
	ScopeRecordsFraud account.Scope = "records:fraud"
	// ScopeRecordsRead: read records outside public view (the archive,
	// withdrawn and repaired records) and the change feed.
	ScopeRecordsRead account.Scope = "records:read"
	// ScopeRecordsReview: receive objections and repair applications;
	// answering and deciding is for the record's source or the credit
	// office (谁认定谁修复).
	ScopeRecordsReview account.Scope = "records:review"
)

// RoleScopes are the record scopes of each role.
var RoleScopes = map[account.Role][]account.Scope{
	account.RoleAdmin:      {ScopeRecordsWrite, ScopeRecordsFraud, ScopeRecordsRead, ScopeRecordsReview},
	account.RoleDepartment: {ScopeRecordsWrite, ScopeRecordsFraud, ScopeRecordsRead, ScopeRecordsReview},
	account.RolePlatform:   {ScopeRecordsPlatform, ScopeRecordsFraud, ScopeRecordsRead},
	account.RoleAgency:     {ScopeRecordsFraud, ScopeRecordsRead},
	account.RoleLogistics:  {ScopeRecordsRead},
}

// Can reports whether the actor holds a record scope.
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

// mayWrite says whether the actor may submit records of type t. ownShop
// reports that the platform must own a shop of the subject.
func mayWrite(a account.Actor, t Type) (ownShop bool, err error) {
	if Can(a, ScopeRecordsWrite) {
		return false, nil
	}
	switch {
	case t == TypePaymentFraud && Can(a, ScopeRecordsFraud):
		return false, nil
	case (t == TypeCommitment || t == TypeOther) && Can(a, ScopeRecordsPlatform):
		return true, nil
	}
	if err := require(a, ScopeRecordsWrite); err != nil && (a.Role == account.RolePublic || a.Role == "") {
		return false, err
	}
	def, _ := Lookup(t)
	name := string(t)
	if def != nil {
		name = def.Name
	}
	return false, &errs.Error{Code: errs.Forbidden, Field: "type", Message: "角色「" + a.Role.Label() + "」不能报送「" + name + "」记录 (role may not submit this record type)"}
}

// mayRead says whether the actor may see r outside public view (hidden
// types need the fraud scope).
func mayReadHidden(a account.Actor, def *TypeDef) bool {
	if !Can(a, ScopeRecordsRead) {
		return false
	}
	if !def.Public {
		return Can(a, ScopeRecordsFraud)
	}
	return true
}

// SourceKey is the key a source's references are scoped to: the account
// id, or the name for a file import run without an account (CLI).
func SourceKey(a account.Actor) string {
	if a.AccountID != 0 {
		return "account:" + strconv.FormatInt(a.AccountID, 10)
	}
	return "name:" + a.Name
}

// isSourceOrAdmin reports whether the actor is the record's source or the
// credit office.
func isSourceOrAdmin(a account.Actor, r *Record) bool {
	return a.Role == account.RoleAdmin || SourceKey(a) == r.SourceKey
}
