package record

import (
	"sort"
	"strings"
)

// Type is a kind of credit record.
type Type string

const (
	TypeRegistration Type = "registration"  // 登记注册信息
	TypeLicence      Type = "licence"       // 行政许可 (双公示, XK_*)
	TypePenalty      Type = "penalty"       // 行政处罚 (双公示, CF_*)
	TypeCommitment   Type = "commitment"    // 信用承诺 (M7)
	TypeInspection   Type = "inspection"    // 检查结果
	TypeHonour       Type = "honour"        // 荣誉表彰
	TypeJudgement    Type = "judgement"     // 失信被执行人
	TypePaymentFraud Type = "payment_fraud" // 支付欺诈与争议 (M3)
	TypeTaxGrade     Type = "tax_grade"     // 纳税信用等级
	TypeOther        Type = "other"         // 其他部门信用信息（开放类型）
)

// FieldKind is the value type of a field.
type FieldKind string

const (
	KindText     FieldKind = "text"
	KindDate     FieldKind = "date"      // normalised to YYYY-MM-DD
	KindDecimal  FieldKind = "decimal"   // normalised canonical decimal
	KindEnum     FieldKind = "enum"      // one of Enum (Multi: several, joined by ";")
	KindCode     FieldKind = "code"      // unified social credit code, normalised
	KindIDNumber FieldKind = "id_number" // personal ID: stored only as mask + HMAC index
	KindYear     FieldKind = "year"      // four-digit year
)

// EnumValue is one allowed value of an enum field.
type EnumValue struct {
	Value   string   `json:"value"`             // stored value
	Label   string   `json:"label"`             // 中文
	Aliases []string `json:"aliases,omitempty"` // other accepted spellings: national codes, older labels
}

// Field is one column of a record type's data dictionary.
type Field struct {
	Key      string      `json:"key"`
	Name     string      `json:"name"`    // 中文名
	NameEn   string      `json:"name_en"` // English name
	Kind     FieldKind   `json:"type"`
	Required bool        `json:"required"`
	MaxLen   int         `json:"max_length,omitempty"` // in characters
	Enum     []EnumValue `json:"enum,omitempty"`
	Multi    bool        `json:"multi,omitempty"` // enum: several values allowed
	Code     string      `json:"code,omitempty"`  // national 双公示 2.0 field code
	// Aliases are the column headers accepted for the field besides Key,
	// Code and Name: 2.0 Chinese headers, legacy 1.0 headers, common
	// variants.
	Aliases []string `json:"aliases,omitempty"`
	Legacy  bool     `json:"legacy,omitempty"` // only in the legacy 1.0 layout
	Note    string   `json:"note,omitempty"`
}

// TypeDef is a record type with its schema.
type TypeDef struct {
	Type   Type    `json:"type"`
	Name   string  `json:"name"`
	NameEn string  `json:"name_en"`
	Note   string  `json:"note"`
	Fields []Field `json:"fields"`
	// RefFields are the fields whose values, joined by "/", form the
	// source's own id of a record (文书号 for 双公示).
	RefFields []string `json:"ref_fields"`
	// DateField is the field holding the decision / event date.
	DateField string `json:"date_field"`
	// Open types accept fields not in the schema (free-form).
	Open bool `json:"open,omitempty"`
	// Public says whether records of the type are disclosed in the portal
	// at all (payment-fraud reports are shared only with authorised roles).
	Public bool `json:"public"`

	byKey map[string]int
}

// Field returns the field with the given key.
func (t *TypeDef) Field(key string) (*Field, bool) {
	i, ok := t.byKey[key]
	if !ok {
		return nil, false
	}
	return &t.Fields[i], true
}

// Required lists the keys of the required fields.
func (t *TypeDef) Required() []string {
	var out []string
	for _, f := range t.Fields {
		if f.Required {
			out = append(out, f.Key)
		}
	}
	return out
}

// headerReplacer is built once: a strings.Replacer is safe for concurrent
// use, and building one per call dominated header matching.
var headerReplacer = strings.NewReplacer("（", "(", "）", ")", "＿", "_", " ", "", "\u3000", "", "\t", "", "*", "", "＊", "")

// HeaderKey normalises a column header for matching: spaces removed,
// full-width brackets and underscores made ASCII, upper-cased.
func HeaderKey(h string) string {
	h = strings.TrimPrefix(h, "\ufeff")
	h = headerReplacer.Replace(h)
	return strings.ToUpper(strings.TrimSpace(h))
}

// Resolve maps a column header or field name (key, 2.0 code, 中文名 or an
// alias) to a field key.
func (t *TypeDef) Resolve(header string) (string, bool) {
	k, ok := t.headers()[HeaderKey(header)]
	return k, ok
}

func (t *TypeDef) headers() map[string]string {
	m := headerIndex[t.Type]
	if m != nil {
		return m
	}
	return buildHeaders(t)
}

func buildHeaders(t *TypeDef) map[string]string {
	m := map[string]string{}
	for _, f := range t.Fields {
		for _, h := range append([]string{f.Key, f.Code, f.Name}, f.Aliases...) {
			if h == "" {
				continue
			}
			if prev, ok := m[HeaderKey(h)]; ok && prev != f.Key {
				panic("record: header " + h + " names both " + prev + " and " + f.Key + " in " + string(t.Type))
			}
			m[HeaderKey(h)] = f.Key
		}
	}
	return m
}

var (
	catalog     = map[Type]*TypeDef{}
	headerIndex = map[Type]map[string]string{}
	typeOrder   []Type
)

// Types lists every record type in display order.
func Types() []*TypeDef {
	out := make([]*TypeDef, 0, len(typeOrder))
	for _, t := range typeOrder {
		out = append(out, catalog[t])
	}
	return out
}

// Lookup returns the definition of a type.
func Lookup(t Type) (*TypeDef, bool) {
	d, ok := catalog[t]
	return d, ok
}

// TypeNames lists the type identifiers, for error messages.
func TypeNames() string {
	var s []string
	for _, t := range typeOrder {
		s = append(s, string(t))
	}
	return strings.Join(s, "、")
}

func register(d *TypeDef) {
	d.byKey = map[string]int{}
	for i, f := range d.Fields {
		if _, dup := d.byKey[f.Key]; dup {
			panic("record: duplicate field " + f.Key + " in " + string(d.Type))
		}
		d.byKey[f.Key] = i
	}
	for _, k := range append(append([]string{}, d.RefFields...), d.DateField) {
		if _, ok := d.byKey[k]; !ok {
			panic("record: unknown field " + k + " in " + string(d.Type))
		}
	}
	catalog[d.Type] = d
	headerIndex[d.Type] = buildHeaders(d)
	typeOrder = append(typeOrder, d.Type)
}

// Shared enumerations.
var (
	subjectCategories = []EnumValue{
		{Value: "legal", Label: "法人及非法人组织", Aliases: []string{"法人", "非法人组织", "02", "03", "法人或其他组织", "企业"}},
		{Value: "person", Label: "自然人", Aliases: []string{"01", "个人"}},
		{Value: "individual", Label: "个体工商户", Aliases: []string{"04", "个体户"}},
	}
	idTypes = []EnumValue{
		{Value: "01", Label: "身份证", Aliases: []string{"居民身份证", "身份证号", "公民身份号码"}},
		{Value: "02", Label: "护照"},
		{Value: "03", Label: "港澳居民来往内地通行证"},
		{Value: "04", Label: "台湾居民来往大陆通行证"},
		{Value: "05", Label: "外国人永久居留身份证"},
	}
	severities = []EnumValue{
		{Value: string(SeverityLight), Label: "轻微", Aliases: []string{"轻微失信", "一般以下"}},
		{Value: string(SeverityGeneral), Label: "一般", Aliases: []string{"一般失信"}},
		{Value: string(SeveritySevere), Label: "严重", Aliases: []string{"严重失信", "较重"}},
	}
	// PenaltyCategories follow Art. 9 of the Administrative Penalty Law
	// (2021).
	penaltyCategories = []EnumValue{
		{Value: "warning", Label: "警告"},
		{Value: "criticism", Label: "通报批评"},
		{Value: "fine", Label: "罚款"},
		{Value: "confiscate_income", Label: "没收违法所得"},
		{Value: "confiscate_property", Label: "没收非法财物"},
		{Value: "suspend_licence", Label: "暂扣许可证件", Aliases: []string{"暂扣许可证", "暂扣执照", "暂扣许可证、执照"}},
		{Value: "lower_qualification", Label: "降低资质等级"},
		{Value: "revoke_licence", Label: "吊销许可证件", Aliases: []string{"吊销许可证", "吊销营业执照", "吊销执照", "吊销许可证、执照"}},
		{Value: "restrict_business", Label: "限制开展生产经营活动"},
		{Value: "suspend_business", Label: "责令停产停业", Aliases: []string{"停产停业", "责令停业"}},
		{Value: "close", Label: "责令关闭"},
		{Value: "restrict_practice", Label: "限制从业"},
		{Value: "detention", Label: "行政拘留"},
		{Value: "other", Label: "其他", Aliases: []string{"其它"}},
	}
)

// Identity fields shared by the types that are not 双公示.
func identity(required bool) []Field {
	return []Field{
		{Key: "subject_name", Name: "主体名称", NameEn: "Subject name", Kind: KindText, Required: true, MaxLen: 200,
			Aliases: []string{"企业名称", "单位名称", "经营者名称", "被执行人姓名/名称", "被执行人名称", "纳税人名称"}},
		{Key: "credit_code", Name: "统一社会信用代码", NameEn: "Unified social credit code", Kind: KindCode, Required: required, MaxLen: 18,
			Aliases: []string{"社会信用代码", "信用代码", "USCC"}, Note: "组织必填；自然人填写证件号码"},
		{Key: "id_number", Name: "证件号码", NameEn: "Personal ID number", Kind: KindIDNumber, MaxLen: 18,
			Aliases: []string{"身份证号", "身份证号码", "公民身份号码"}, Note: "自然人；只保存掩码和密钥哈希索引"},
	}
}

func init() {
	register(&TypeDef{Type: TypeRegistration, Name: "登记注册信息", NameEn: "Registration", Public: true,
		Note: "市场主体登记注册基本信息。", RefFields: []string{"credit_code"}, DateField: "establish_date",
		Fields: append(identity(true)[:2],
			Field{Key: "reg_authority", Name: "登记机关", NameEn: "Registration authority", Kind: KindText, Required: true, MaxLen: 200},
			Field{Key: "establish_date", Name: "成立日期", NameEn: "Date of establishment", Kind: KindDate, Required: true},
			Field{Key: "legal_rep", Name: "法定代表人", NameEn: "Legal representative", Kind: KindText, MaxLen: 50, Aliases: []string{"负责人", "经营者"}},
			Field{Key: "reg_capital", Name: "注册资本（万元）", NameEn: "Registered capital (10k CNY)", Kind: KindDecimal, Aliases: []string{"注册资本"}},
			Field{Key: "business_scope", Name: "经营范围", NameEn: "Business scope", Kind: KindText, MaxLen: 4000},
			Field{Key: "address", Name: "住所", NameEn: "Address", Kind: KindText, MaxLen: 300, Aliases: []string{"地址", "经营场所"}},
			Field{Key: "reg_status", Name: "登记状态", NameEn: "Registration status", Kind: KindEnum, Enum: []EnumValue{
				{Value: "existing", Label: "存续", Aliases: []string{"在业", "开业"}},
				{Value: "revoked", Label: "吊销"},
				{Value: "cancelled", Label: "注销"},
				{Value: "moved", Label: "迁出"},
			}},
		)})

	register(&TypeDef{Type: TypeLicence, Name: "行政许可", NameEn: "Administrative licence", Public: true,
		Note:      "双公示行政许可信息，国家 2.0 字段集（XK_*），兼容中文列名和 1.0 旧版列名。有效期内公示；有效期至 2099-12-31 表示长期。",
		RefFields: []string{"doc_no"}, DateField: "decision_date",
		Fields: []Field{
			{Key: "subject_name", Name: "行政相对人名称", NameEn: "Party name", Kind: KindText, Required: true, MaxLen: 200, Code: "XK_XDR_MC", Aliases: []string{"相对人名称", "企业名称", "单位名称"}},
			{Key: "subject_category", Name: "行政相对人类别", NameEn: "Party category", Kind: KindEnum, Enum: subjectCategories, Code: "XK_XDR_LB", Aliases: []string{"相对人类别"}},
			{Key: "credit_code", Name: "统一社会信用代码", NameEn: "Unified social credit code", Kind: KindCode, MaxLen: 18, Code: "XK_XDR_SHXYM",
				Aliases: []string{"行政相对人代码_1(统一社会信用代码)", "行政相对人代码_1", "代码_1(统一社会信用代码)", "代码_1"}},
			{Key: "reg_no", Name: "工商注册号", NameEn: "Business registration number", Kind: KindText, MaxLen: 50, Code: "XK_XDR_GSZC", Aliases: []string{"行政相对人代码_2(工商注册号)", "行政相对人代码_3(工商登记码)"}},
			{Key: "org_code", Name: "组织机构代码", NameEn: "Organisation code", Kind: KindText, MaxLen: 10, Code: "XK_XDR_ZZJG", Aliases: []string{"行政相对人代码_3(组织机构代码)", "行政相对人代码_2(组织机构代码)"}},
			{Key: "tax_no", Name: "税务登记号", NameEn: "Tax registration number", Kind: KindText, MaxLen: 20, Code: "XK_XDR_SWDJ", Aliases: []string{"行政相对人代码_4(税务登记号)"}},
			{Key: "inst_no", Name: "事业单位证书号", NameEn: "Public institution certificate number", Kind: KindText, MaxLen: 50, Code: "XK_XDR_SYDW", Aliases: []string{"行政相对人代码_5(事业单位证书号)"}},
			{Key: "social_org_no", Name: "社会组织登记证号", NameEn: "Social organisation registration number", Kind: KindText, MaxLen: 50, Code: "XK_XDR_SHZZ", Aliases: []string{"行政相对人代码_6(社会组织登记证号)"}},
			{Key: "legal_rep", Name: "法定代表人", NameEn: "Legal representative", Kind: KindText, MaxLen: 50, Code: "XK_FRDB", Aliases: []string{"法定代表人姓名"}},
			{Key: "legal_rep_id_type", Name: "法定代表人证件类型", NameEn: "Legal representative ID type", Kind: KindEnum, Enum: idTypes, Code: "XK_FR_ZJLX"},
			{Key: "legal_rep_id_number", Name: "法定代表人证件号码", NameEn: "Legal representative ID number", Kind: KindIDNumber, MaxLen: 18, Code: "XK_FR_ZJHM"},
			{Key: "id_type", Name: "证件类型", NameEn: "Party ID type", Kind: KindEnum, Enum: idTypes, Code: "XK_XDR_ZJLX"},
			{Key: "id_number", Name: "证件号码", NameEn: "Party ID number", Kind: KindIDNumber, MaxLen: 18, Code: "XK_XDR_ZJHM", Aliases: []string{"行政相对人代码_5(居民身份证号)", "居民身份证号"}},
			{Key: "doc_name", Name: "行政许可决定文书名称", NameEn: "Licence decision document name", Kind: KindText, MaxLen: 200, Code: "XK_XKWS", Aliases: []string{"许可决定文书名称"}},
			{Key: "doc_no", Name: "行政许可决定文书号", NameEn: "Licence decision document number", Kind: KindText, Required: true, MaxLen: 128, Code: "XK_WSH",
				Aliases: []string{"行政许可决定书文号", "许可决定书文号", "许可文书号", "文书号"}},
			{Key: "licence_category", Name: "许可类别", NameEn: "Licence category", Kind: KindEnum, Code: "XK_XKLB", Aliases: []string{"审批类别"}, Enum: []EnumValue{
				{Value: "general", Label: "普通", Aliases: []string{"01", "普通许可"}},
				{Value: "franchise", Label: "特许", Aliases: []string{"02", "特许许可"}},
				{Value: "approval", Label: "认可", Aliases: []string{"03"}},
				{Value: "verification", Label: "核准", Aliases: []string{"04"}},
				{Value: "registration", Label: "登记", Aliases: []string{"05"}},
				{Value: "other", Label: "其他", Aliases: []string{"06", "其它"}},
			}},
			{Key: "certificate_name", Name: "许可证书名称", NameEn: "Licence certificate name", Kind: KindText, MaxLen: 200, Code: "XK_XKZS"},
			{Key: "licence_no", Name: "许可编号", NameEn: "Licence number", Kind: KindText, MaxLen: 100, Code: "XK_XKBH", Aliases: []string{"许可证编号"}},
			{Key: "item_name", Name: "项目名称", NameEn: "Licensing item (legacy)", Kind: KindText, MaxLen: 200, Legacy: true},
			{Key: "content", Name: "许可内容", NameEn: "Licence content", Kind: KindText, Required: true, MaxLen: 4000, Code: "XK_NR"},
			{Key: "decision_date", Name: "许可决定日期", NameEn: "Decision date", Kind: KindDate, Required: true, Code: "XK_JDRQ"},
			{Key: "valid_from", Name: "有效期自", NameEn: "Valid from", Kind: KindDate, Code: "XK_YXQZ"},
			{Key: "valid_until", Name: "有效期至", NameEn: "Valid until", Kind: KindDate, Code: "XK_YXQZI", Aliases: []string{"许可截止期"}, Note: "2099-12-31 表示长期有效"},
			{Key: "authority", Name: "许可机关", NameEn: "Licensing authority", Kind: KindText, Required: true, MaxLen: 200, Code: "XK_XKJG"},
			{Key: "authority_code", Name: "许可机关统一社会信用代码", NameEn: "Licensing authority credit code", Kind: KindCode, MaxLen: 18, Code: "XK_XKJGDM"},
			{Key: "status", Name: "当前状态", NameEn: "Current status", Kind: KindText, MaxLen: 20, Code: "XK_ZT"},
			{Key: "source_unit", Name: "数据来源单位", NameEn: "Data source unit", Kind: KindText, MaxLen: 200, Code: "XK_LYDW"},
			{Key: "source_unit_code", Name: "数据来源单位统一社会信用代码", NameEn: "Data source unit credit code", Kind: KindCode, MaxLen: 18, Code: "XK_LYDWDM"},
			{Key: "region", Name: "地方编码", NameEn: "Local code (legacy)", Kind: KindText, MaxLen: 20, Legacy: true},
			{Key: "updated", Name: "数据更新时间戳", NameEn: "Data update timestamp (legacy)", Kind: KindText, MaxLen: 30, Legacy: true},
			{Key: "usage", Name: "信息使用范围", NameEn: "Scope of use (legacy)", Kind: KindText, MaxLen: 50, Legacy: true},
			{Key: "publicity_until", Name: "公示截止期", NameEn: "End of publicity", Kind: KindDate, Legacy: true},
			{Key: "note", Name: "备注", NameEn: "Remarks", Kind: KindText, MaxLen: 1000, Code: "BZ"},
		}})

	register(&TypeDef{Type: TypePenalty, Name: "行政处罚", NameEn: "Administrative penalty", Public: true,
		Note:      "双公示行政处罚信息，国家 2.0 字段集（CF_*），兼容中文列名和 1.0 旧版列名。公示期限按轻微、一般、严重三档，公示截止期（CF_GSJZQ）优先。",
		RefFields: []string{"doc_no"}, DateField: "decision_date",
		Fields: []Field{
			{Key: "subject_name", Name: "行政相对人名称", NameEn: "Party name", Kind: KindText, Required: true, MaxLen: 200, Code: "CF_XDR_MC", Aliases: []string{"相对人名称", "企业名称", "单位名称", "被处罚单位名称"}},
			{Key: "subject_category", Name: "行政相对人类别", NameEn: "Party category", Kind: KindEnum, Enum: subjectCategories, Code: "CF_XDR_LB", Aliases: []string{"相对人类别"}},
			{Key: "credit_code", Name: "统一社会信用代码", NameEn: "Unified social credit code", Kind: KindCode, MaxLen: 18, Code: "CF_XDR_SHXYM",
				Aliases: []string{"行政相对人代码_1(统一社会信用代码)", "行政相对人代码_1", "代码_1(统一社会信用代码)", "代码_1"}},
			{Key: "reg_no", Name: "工商注册号", NameEn: "Business registration number", Kind: KindText, MaxLen: 50, Code: "CF_XDR_GSZC", Aliases: []string{"行政相对人代码_2(工商注册号)", "行政相对人代码_3(工商登记码)"}},
			{Key: "org_code", Name: "组织机构代码", NameEn: "Organisation code", Kind: KindText, MaxLen: 10, Code: "CF_XDR_ZZJG", Aliases: []string{"行政相对人代码_3(组织机构代码)", "行政相对人代码_2(组织机构代码)"}},
			{Key: "tax_no", Name: "税务登记号", NameEn: "Tax registration number", Kind: KindText, MaxLen: 20, Code: "CF_XDR_SWDJ", Aliases: []string{"行政相对人代码_4(税务登记号)"}},
			{Key: "inst_no", Name: "事业单位证书号", NameEn: "Public institution certificate number", Kind: KindText, MaxLen: 12, Code: "CF_XDR_SYDW", Aliases: []string{"行政相对人代码_5(事业单位证书号)"}},
			{Key: "social_org_no", Name: "社会组织登记证号", NameEn: "Social organisation registration number", Kind: KindText, MaxLen: 50, Code: "CF_XDR_SHZZ", Aliases: []string{"行政相对人代码_6(社会组织登记证号)"}},
			{Key: "legal_rep", Name: "法定代表人", NameEn: "Legal representative", Kind: KindText, MaxLen: 50, Code: "CF_FRDB", Aliases: []string{"法定代表人姓名"}},
			{Key: "legal_rep_id_type", Name: "法定代表人证件类型", NameEn: "Legal representative ID type", Kind: KindEnum, Enum: idTypes, Code: "CF_FR_ZJLX"},
			{Key: "legal_rep_id_number", Name: "法定代表人证件号码", NameEn: "Legal representative ID number", Kind: KindIDNumber, MaxLen: 18, Code: "CF_FR_ZJHM"},
			{Key: "id_type", Name: "证件类型", NameEn: "Party ID type", Kind: KindEnum, Enum: idTypes, Code: "CF_XDR_ZJLX"},
			{Key: "id_number", Name: "证件号码", NameEn: "Party ID number", Kind: KindIDNumber, MaxLen: 18, Code: "CF_XDR_ZJHM", Aliases: []string{"行政相对人代码_5(居民身份证号)", "居民身份证号"}},
			{Key: "doc_no", Name: "行政处罚决定书文号", NameEn: "Penalty decision number", Kind: KindText, Required: true, MaxLen: 128, Code: "CF_WSH",
				Aliases: []string{"处罚决定书文号", "决定书文号", "行政处罚决定文书号", "文书号"}},
			{Key: "violation_type", Name: "违法行为类型", NameEn: "Type of violation", Kind: KindText, Required: true, MaxLen: 2000, Code: "CF_WFXW", Aliases: []string{"处罚名称", "案件名称"}},
			{Key: "facts", Name: "违法事实", NameEn: "Facts of the violation", Kind: KindText, Required: true, MaxLen: 2000, Code: "CF_SY", Aliases: []string{"处罚事由", "主要违法事实"}},
			{Key: "basis", Name: "处罚依据", NameEn: "Legal basis", Kind: KindText, Required: true, MaxLen: 2048, Code: "CF_YJ"},
			{Key: "category", Name: "处罚类别", NameEn: "Penalty categories", Kind: KindEnum, Multi: true, Required: true, Enum: penaltyCategories, Code: "CF_CFLB", Aliases: []string{"处罚类别1", "处罚种类"},
				Note: "可填多个，以分号、顿号或逗号分隔"},
			{Key: "category2", Name: "处罚类别2", NameEn: "Second penalty category (legacy)", Kind: KindEnum, Multi: true, Enum: penaltyCategories, Legacy: true},
			{Key: "content", Name: "处罚内容", NameEn: "Penalty content", Kind: KindText, Required: true, MaxLen: 4000, Code: "CF_NR", Aliases: []string{"处罚结果"}},
			{Key: "fine", Name: "罚款金额（万元）", NameEn: "Fine (10k CNY)", Kind: KindDecimal, Code: "CF_NR_FK", Aliases: []string{"罚款金额", "罚款金额(万元)"}},
			{Key: "confiscated", Name: "没收违法所得、没收非法财物的金额（万元）", NameEn: "Amount confiscated (10k CNY)", Kind: KindDecimal, Code: "CF_NR_WFFF",
				Aliases: []string{"没收违法所得、没收非法财物的金额", "没收金额(万元)", "没收违法所得金额"}},
			{Key: "licence_affected", Name: "暂扣或吊销证照名称及编号", NameEn: "Licence suspended or revoked", Kind: KindText, MaxLen: 200, Code: "CF_NR_ZKDX"},
			{Key: "decision_date", Name: "处罚决定日期", NameEn: "Decision date", Kind: KindDate, Required: true, Code: "CF_JDRQ", Aliases: []string{"处罚生效期", "决定日期"}},
			{Key: "valid_until", Name: "处罚有效期", NameEn: "Penalty valid until", Kind: KindDate, Code: "CF_YXQ", Aliases: []string{"处罚截止期"}},
			{Key: "publicity_until", Name: "公示截止期", NameEn: "End of publicity", Kind: KindDate, Code: "CF_GSJZQ"},
			{Key: "publicity_years", Name: "公示期限", NameEn: "Publicity term in years (legacy)", Kind: KindDecimal, Legacy: true, Aliases: []string{"公示期限年限1或者3", "公示期限(年)"}},
			{Key: "authority", Name: "处罚机关", NameEn: "Penalising authority", Kind: KindText, Required: true, MaxLen: 200, Code: "CF_CFJG", Aliases: []string{"处罚机关名称", "作出处罚决定的机关"}},
			{Key: "authority_code", Name: "处罚机关统一社会信用代码", NameEn: "Penalising authority credit code", Kind: KindCode, MaxLen: 18, Code: "CF_CFJGDM"},
			{Key: "source_unit", Name: "数据来源单位", NameEn: "Data source unit", Kind: KindText, MaxLen: 200, Code: "CF_SJLY"},
			{Key: "source_unit_code", Name: "数据来源单位统一社会信用代码", NameEn: "Data source unit credit code", Kind: KindCode, MaxLen: 18, Code: "CF_SJLYDM"},
			{Key: "severity", Name: "失信严重程度", NameEn: "Severity", Kind: KindEnum, Enum: severities, Aliases: []string{"严重程度", "失信程度"},
				Note: "可不填：按处罚类别和罚款金额推定（简易程序标准为轻微；吊销、停产停业、责令关闭、限制从业、较大数额罚款为严重；其余一般）"},
			{Key: "status", Name: "当前状态", NameEn: "Current status (legacy)", Kind: KindText, MaxLen: 20, Legacy: true},
			{Key: "region", Name: "地方编码", NameEn: "Local code (legacy)", Kind: KindText, MaxLen: 20, Legacy: true},
			{Key: "updated", Name: "数据更新时间戳", NameEn: "Data update timestamp (legacy)", Kind: KindText, MaxLen: 30, Legacy: true},
			{Key: "usage", Name: "信息使用范围", NameEn: "Scope of use (legacy)", Kind: KindText, MaxLen: 50, Legacy: true},
			{Key: "note", Name: "备注", NameEn: "Remarks", Kind: KindText, MaxLen: 1000, Code: "BZ"},
		}})

	register(&TypeDef{Type: TypeCommitment, Name: "信用承诺", NameEn: "Credit commitment", Public: true,
		Note:      "经营主体作出的信用承诺（审批替代、主动公示、行业自律、信用修复），标准格式参照《经营主体信用承诺实施指南》。履约践诺情况记入信用记录。",
		RefFields: []string{"commitment_no"}, DateField: "commitment_date",
		Fields: append(identity(false),
			Field{Key: "commitment_no", Name: "承诺书编号", NameEn: "Commitment number", Kind: KindText, Required: true, MaxLen: 100, Aliases: []string{"编号", "承诺编号"}},
			Field{Key: "commitment_type", Name: "承诺类型", NameEn: "Commitment type", Kind: KindEnum, Required: true, Enum: []EnumValue{
				{Value: "approval", Label: "审批替代型", Aliases: []string{"审批型", "告知承诺", "证明事项告知承诺", "容缺受理"}},
				{Value: "disclosure", Label: "主动公示型", Aliases: []string{"主动型"}},
				{Value: "industry", Label: "行业自律型", Aliases: []string{"行业自律"}},
				{Value: "repair", Label: "信用修复型", Aliases: []string{"修复型", "失信纠正型"}},
			}},
			Field{Key: "matter", Name: "承诺事项", NameEn: "Matter", Kind: KindText, Required: true, MaxLen: 200},
			Field{Key: "content", Name: "承诺内容", NameEn: "Content", Kind: KindText, Required: true, MaxLen: 4000},
			Field{Key: "commitment_date", Name: "承诺日期", NameEn: "Date of commitment", Kind: KindDate, Required: true, Aliases: []string{"承诺时间"}},
			Field{Key: "term_until", Name: "承诺期限", NameEn: "Commitment valid until", Kind: KindDate, Aliases: []string{"承诺有效期至", "有效期至"}},
			Field{Key: "recipient", Name: "承诺受理单位", NameEn: "Receiving unit", Kind: KindText, MaxLen: 200, Aliases: []string{"受理单位", "受理部门"}},
			Field{Key: "fulfilment", Name: "履约状态", NameEn: "Fulfilment", Kind: KindEnum, Enum: []EnumValue{
				{Value: "performing", Label: "履约中", Aliases: []string{"正常"}},
				{Value: "fulfilled", Label: "已履约", Aliases: []string{"践诺"}},
				{Value: "breached", Label: "违诺", Aliases: []string{"失信", "未履约"}},
			}},
			Field{Key: "note", Name: "备注", NameEn: "Remarks", Kind: KindText, MaxLen: 1000},
		)})

	register(&TypeDef{Type: TypeInspection, Name: "检查结果", NameEn: "Inspection result", Public: true,
		Note: "双随机、日常、专项检查的结果。", RefFields: []string{"inspection_no"}, DateField: "inspection_date",
		Fields: append(identity(false),
			Field{Key: "inspection_no", Name: "检查编号", NameEn: "Inspection number", Kind: KindText, Required: true, MaxLen: 100, Aliases: []string{"任务编号"}},
			Field{Key: "inspection_type", Name: "检查类型", NameEn: "Inspection type", Kind: KindEnum, Required: true, Enum: []EnumValue{
				{Value: "random", Label: "双随机抽查", Aliases: []string{"双随机", "随机抽查"}},
				{Value: "routine", Label: "日常检查"},
				{Value: "special", Label: "专项检查"},
				{Value: "other", Label: "其他", Aliases: []string{"其它"}},
			}},
			Field{Key: "inspection_date", Name: "检查日期", NameEn: "Inspection date", Kind: KindDate, Required: true, Aliases: []string{"检查时间"}},
			Field{Key: "inspector", Name: "检查机关", NameEn: "Inspecting authority", Kind: KindText, Required: true, MaxLen: 200, Aliases: []string{"检查实施机关"}},
			Field{Key: "result", Name: "检查结果", NameEn: "Result", Kind: KindEnum, Required: true, Enum: []EnumValue{
				{Value: "passed", Label: "未发现问题", Aliases: []string{"合格", "正常"}},
				{Value: "rectify", Label: "发现问题已责令改正", Aliases: []string{"责令整改", "限期整改"}},
				{Value: "failed", Label: "不合格"},
				{Value: "absent", Label: "未发现开展本次抽查涉及的经营活动", Aliases: []string{"未发现经营"}},
				{Value: "unreachable", Label: "通过登记的住所无法联系", Aliases: []string{"无法联系"}},
			}},
			Field{Key: "detail", Name: "检查结果说明", NameEn: "Details", Kind: KindText, MaxLen: 2000},
			Field{Key: "note", Name: "备注", NameEn: "Remarks", Kind: KindText, MaxLen: 1000},
		)})

	register(&TypeDef{Type: TypeHonour, Name: "荣誉表彰", NameEn: "Honour", Public: true,
		Note: "守信激励：荣誉称号、表彰、红名单。", RefFields: []string{"honour_no"}, DateField: "award_date",
		Fields: append(identity(false),
			Field{Key: "honour_no", Name: "荣誉文号", NameEn: "Award document number", Kind: KindText, Required: true, MaxLen: 128, Aliases: []string{"认定文号", "文号"}},
			Field{Key: "honour_name", Name: "荣誉名称", NameEn: "Honour", Kind: KindText, Required: true, MaxLen: 200},
			Field{Key: "awarding_unit", Name: "授予机关", NameEn: "Awarding authority", Kind: KindText, Required: true, MaxLen: 200, Aliases: []string{"认定单位", "授予单位"}},
			Field{Key: "award_date", Name: "授予日期", NameEn: "Award date", Kind: KindDate, Required: true, Aliases: []string{"认定日期"}},
			Field{Key: "valid_until", Name: "有效期至", NameEn: "Valid until", Kind: KindDate},
			Field{Key: "level", Name: "级别", NameEn: "Level", Kind: KindEnum, Enum: []EnumValue{
				{Value: "national", Label: "国家级"}, {Value: "provincial", Label: "省级"},
				{Value: "city", Label: "市级"}, {Value: "county", Label: "县级"},
			}},
			Field{Key: "note", Name: "备注", NameEn: "Remarks", Kind: KindText, MaxLen: 1000},
		)})

	register(&TypeDef{Type: TypeJudgement, Name: "失信被执行人", NameEn: "Dishonest judgement debtor", Public: true,
		Note: "人民法院公布的失信被执行人信息。履行完毕后由来源单位撤回。", RefFields: []string{"case_no"}, DateField: "publish_date",
		Fields: append(identity(false),
			Field{Key: "case_no", Name: "案号", NameEn: "Case number", Kind: KindText, Required: true, MaxLen: 100},
			Field{Key: "court", Name: "执行法院", NameEn: "Enforcing court", Kind: KindText, Required: true, MaxLen: 200},
			Field{Key: "filing_date", Name: "立案时间", NameEn: "Filing date", Kind: KindDate},
			Field{Key: "publish_date", Name: "发布时间", NameEn: "Publication date", Kind: KindDate, Required: true, Aliases: []string{"发布日期"}},
			Field{Key: "basis_doc", Name: "执行依据文号", NameEn: "Enforcement basis", Kind: KindText, MaxLen: 200},
			Field{Key: "obligation", Name: "生效法律文书确定的义务", NameEn: "Obligation", Kind: KindText, Required: true, MaxLen: 4000, Aliases: []string{"义务"}},
			Field{Key: "performance", Name: "履行情况", NameEn: "Performance", Kind: KindEnum, Required: true, Aliases: []string{"被执行人的履行情况"}, Enum: []EnumValue{
				{Value: "none", Label: "全部未履行"},
				{Value: "partial", Label: "部分未履行", Aliases: []string{"部分履行"}},
				{Value: "done", Label: "全部已履行", Aliases: []string{"已履行"}},
			}},
			Field{Key: "circumstance", Name: "失信被执行人行为具体情形", NameEn: "Circumstances", Kind: KindText, MaxLen: 2000},
			Field{Key: "performed_part", Name: "已履行部分", NameEn: "Performed part", Kind: KindText, MaxLen: 2000},
			Field{Key: "unperformed_part", Name: "未履行部分", NameEn: "Unperformed part", Kind: KindText, MaxLen: 2000},
		)})

	register(&TypeDef{Type: TypePaymentFraud, Name: "支付欺诈与争议", NameEn: "Payment fraud or dispute report", Public: false,
		Note: "支付机构报送的欺诈与争议案件（M3）。不向公众公示，仅向有权限的部门、平台和信用服务机构共享。", RefFields: []string{"report_no"}, DateField: "occurred_on",
		Fields: append(identity(false),
			Field{Key: "report_no", Name: "报告编号", NameEn: "Report number", Kind: KindText, Required: true, MaxLen: 100, Aliases: []string{"案件编号"}},
			Field{Key: "institution", Name: "支付机构", NameEn: "Payment institution", Kind: KindText, Required: true, MaxLen: 200},
			Field{Key: "case_type", Name: "案件类型", NameEn: "Case type", Kind: KindEnum, Required: true, Enum: []EnumValue{
				{Value: "fraud", Label: "欺诈", Aliases: []string{"支付欺诈", "诈骗"}},
				{Value: "dispute", Label: "争议", Aliases: []string{"交易争议", "纠纷"}},
			}},
			Field{Key: "amount", Name: "金额（元）", NameEn: "Amount (CNY)", Kind: KindDecimal, Required: true, Aliases: []string{"金额", "涉案金额"}},
			Field{Key: "occurred_on", Name: "发生日期", NameEn: "Date", Kind: KindDate, Required: true, Aliases: []string{"日期", "交易日期"}},
			Field{Key: "description", Name: "情况说明", NameEn: "Description", Kind: KindText, MaxLen: 2000},
			Field{Key: "note", Name: "备注", NameEn: "Remarks", Kind: KindText, MaxLen: 1000},
		)})

	register(&TypeDef{Type: TypeTaxGrade, Name: "纳税信用等级", NameEn: "Tax credit grade", Public: true,
		Note: "税务机关评定的纳税信用等级。A 级纳税人名单向社会公开，其他等级只向有权限的用户提供。", RefFields: []string{"credit_code", "year"}, DateField: "publish_date",
		Fields: append(identity(true)[:2],
			Field{Key: "tax_no", Name: "纳税人识别号", NameEn: "Taxpayer number", Kind: KindText, MaxLen: 20},
			Field{Key: "grade", Name: "纳税信用等级", NameEn: "Grade", Kind: KindEnum, Required: true, Aliases: []string{"信用等级", "等级"}, Enum: []EnumValue{
				{Value: "A", Label: "A级"}, {Value: "B", Label: "B级"}, {Value: "M", Label: "M级"},
				{Value: "C", Label: "C级"}, {Value: "D", Label: "D级"},
			}},
			Field{Key: "year", Name: "评价年度", NameEn: "Evaluation year", Kind: KindYear, Required: true, Aliases: []string{"年度"}},
			Field{Key: "evaluator", Name: "评价机关", NameEn: "Evaluating authority", Kind: KindText, MaxLen: 200, Aliases: []string{"主管税务机关"}},
			Field{Key: "publish_date", Name: "发布日期", NameEn: "Publication date", Kind: KindDate, Required: true},
		)})

	register(&TypeDef{Type: TypeOther, Name: "其他信用信息", NameEn: "Other credit information", Public: true, Open: true,
		Note:      "其他部门报送的信用信息（开放类型）：除下列字段外可附带任意自定义字段（最多 50 个，名称不超过 50 个字符，值不超过 2000 个字符）。",
		RefFields: []string{"record_no"}, DateField: "record_date",
		Fields: append(identity(false),
			Field{Key: "record_no", Name: "记录编号", NameEn: "Record number", Kind: KindText, Required: true, MaxLen: 100, Aliases: []string{"编号", "文号"}},
			Field{Key: "title", Name: "信息名称", NameEn: "Title", Kind: KindText, Required: true, MaxLen: 200, Aliases: []string{"名称", "事项"}},
			Field{Key: "department", Name: "来源部门", NameEn: "Source department", Kind: KindText, Required: true, MaxLen: 200, Aliases: []string{"认定部门", "提供部门"}},
			Field{Key: "record_date", Name: "认定日期", NameEn: "Date", Kind: KindDate, Required: true, Aliases: []string{"日期", "记录日期"}},
			Field{Key: "nature", Name: "信息性质", NameEn: "Nature", Kind: KindEnum, Required: true, Enum: []EnumValue{
				{Value: "positive", Label: "守信", Aliases: []string{"正面", "良好"}},
				{Value: "negative", Label: "失信", Aliases: []string{"负面", "不良"}},
				{Value: "neutral", Label: "中性", Aliases: []string{"一般"}},
			}},
			Field{Key: "content", Name: "内容", NameEn: "Content", Kind: KindText, MaxLen: 4000, Aliases: []string{"信息内容"}},
			Field{Key: "valid_until", Name: "有效期至", NameEn: "Valid until", Kind: KindDate, Aliases: []string{"公示截止期"}},
		)})
}

// EnumLabel returns the Chinese label of an enum value (or the value).
func (f *Field) EnumLabel(v string) string {
	for _, e := range f.Enum {
		if e.Value == v {
			return e.Label
		}
	}
	return v
}

// matchEnum finds the enum value for an input (value, label or alias,
// ignoring case and spaces).
func (f *Field) matchEnum(in string) (string, bool) {
	k := HeaderKey(in)
	for _, e := range f.Enum {
		if HeaderKey(e.Value) == k || HeaderKey(e.Label) == k {
			return e.Value, true
		}
		for _, a := range e.Aliases {
			if HeaderKey(a) == k {
				return e.Value, true
			}
		}
	}
	return "", false
}

func (f *Field) enumChoices() string {
	var s []string
	for _, e := range f.Enum {
		s = append(s, e.Label)
	}
	return strings.Join(s, "、")
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
