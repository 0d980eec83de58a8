package demo

// Word lists for the demo city. Every name is fictional; place names are
// real places of Chengde so that the data looks like the city.

// Platform is one of the demo's fictional e-commerce platforms.
type Platform struct {
	Short  string // brand shown to users: 山庄优品
	Name   string // registered company name
	Domain string // shops live at shopN.Domain
	Region string // GB/T 2260 code of the company's registration
	Prefix string // prefix of the platform's own shop ids
}

// platforms are the eight demo platforms, all fictional.
var platforms = []Platform{
	{"山庄优品", "承德山庄优品网络科技有限公司", "shanzhuangyoupin.cn", "130802", "SZ"},
	{"避暑山庄商城", "承德避暑山庄电子商务有限公司", "bishu-mall.cn", "130802", "BS"},
	{"塞罕坝农品", "围场塞罕坝农品网络科技有限公司", "saihanba-nongpin.cn", "130828", "SH"},
	{"燕山好物", "燕山好物（承德）科技有限公司", "yanshanhaowu.cn", "130803", "YS"},
	{"滦河云集", "承德滦河云集电子商务有限公司", "luanheyunji.cn", "130821", "LH"},
	{"热河优选", "承德热河优选网络科技有限公司", "reheyouxuan.cn", "130802", "RH"},
	{"金山岭直播", "滦平金山岭直播电商有限公司", "jinshanling-live.cn", "130824", "JS"},
	{"坝上鲜", "丰宁坝上鲜供应链管理有限公司", "bashangxian.cn", "130826", "BX"},
}

// Platforms returns the demo platforms in creation order.
func Platforms() []Platform { return append([]Platform(nil), platforms...) }

// regionPrefix is how a company name starts in each Chengde district or
// county.
var regionPrefix = map[string]string{
	"130802": "承德市双桥区",
	"130803": "承德市双滦区",
	"130804": "承德市鹰手营子矿区",
	"130821": "承德县",
	"130822": "兴隆县",
	"130824": "滦平县",
	"130825": "隆化县",
	"130826": "丰宁满族自治县",
	"130827": "宽城满族自治县",
	"130828": "围场满族蒙古族自治县",
	"130881": "平泉市",
}

// regionShort is the short form used in shop signs of 个体工商户.
var regionShort = map[string]string{
	"130802": "双桥",
	"130803": "双滦",
	"130804": "营子",
	"130821": "承德县",
	"130822": "兴隆",
	"130824": "滦平",
	"130825": "隆化",
	"130826": "丰宁",
	"130827": "宽城",
	"130828": "围场",
	"130881": "平泉",
}

// places are real place names around Chengde, used as trade names.
var places = []string{
	"兴隆", "磬锤峰", "避暑", "热河", "滦河", "武烈河", "雾灵山", "金山岭", "塞罕坝", "坝上",
	"木兰", "六沟", "普宁", "丰宁", "宽城", "鹰手营", "双峰寺", "小布达拉", "棒槌山", "十里画廊",
	"御道口", "红松洼", "京北", "燕山", "七家", "隆化", "平泉", "蟠龙湖", "大杖子", "山庄",
}

// brands are trade-name characters combined in pairs.
var brands = []string{
	"鑫", "源", "丰", "泰", "盛", "隆", "恒", "达", "华", "宏",
	"福", "祥", "瑞", "康", "德", "嘉", "禾", "润", "利", "通",
	"佳", "美", "信", "和", "益", "新", "宇", "兴", "永", "安",
}

// product is a trade of a merchant with the shop category it sells in.
type product struct {
	Goods    string // 山楂
	Trade    string // 食品
	Category string // registry category
}

var products = []product{
	{"山楂", "食品", "food"},
	{"板栗", "食品", "food"},
	{"杏仁露", "饮品", "food"},
	{"苹果", "农产品", "agricultural"},
	{"小米", "农产品", "agricultural"},
	{"荞麦", "农产品", "agricultural"},
	{"蜂蜜", "食品", "food"},
	{"牛肉", "食品", "food"},
	{"羊肉", "食品", "food"},
	{"土豆", "农产品", "agricultural"},
	{"莜面", "食品", "food"},
	{"木耳", "农产品", "agricultural"},
	{"核桃", "农产品", "agricultural"},
	{"蘑菇", "农产品", "agricultural"},
	{"山野菜", "农产品", "agricultural"},
	{"黄芩", "中药材", "agricultural"},
	{"化肥", "农资", "agri_inputs"},
	{"种子", "农资", "agri_inputs"},
	{"服装", "服饰", "apparel"},
	{"皮毛", "服饰", "apparel"},
	{"日用品", "商贸", "daily_goods"},
	{"洗护用品", "日化", "daily_goods"},
	{"家电", "电器", "electronics"},
	{"手机配件", "数码", "electronics"},
	{"剪纸", "工艺品", "other"},
	{"满族刺绣", "工艺品", "other"},
	{"旅游纪念品", "文创", "other"},
	{"保健器械", "医疗器械", "medical_devices"},
	{"民宿预订", "旅游服务", "services"},
	{"白酒", "酒业", "food"},
}

// companySuffixes for enterprises.
var companySuffixes = []string{"有限公司", "有限公司", "有限公司", "有限责任公司"}

// shopSigns are how 个体工商户 call their business.
var shopSigns = []string{"店", "铺", "商行", "经营部", "门市部", "小卖部", "特产店", "土特产经销处"}

// shopKinds are how online shops of merchants are named.
var shopKinds = []string{"旗舰店", "专营店", "官方店", "直营店", "特产馆", "优选店"}

// surnames: the most common Chinese surnames, weighted by repetition, and a
// few compound ones.
var surnames = []string{
	"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴",
	"徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗",
	"梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧",
	"程", "曹", "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕",
	"王", "李", "张", "刘", "赵", "杨", "关", "那", "佟", "富",
	"欧阳", "司马",
}

var givenMale = []string{
	"伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明",
	"建国", "志强", "海涛", "立新", "永刚", "国华", "振华", "俊杰", "宏伟", "文博",
	"子豪", "浩然", "宇航", "鹏飞", "德胜", "晓东", "春生", "树林", "连山", "长江",
}

var givenFemale = []string{
	"芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "婷", "雪",
	"秀英", "桂兰", "玉兰", "丽娟", "海燕", "晓红", "春梅", "淑珍", "雅琴", "欣怡",
	"梓涵", "思雨", "佳琪", "雨桐", "慧敏", "丹丹", "亚楠", "凤霞", "秀云", "美玲",
}

// roads in Chengde for addresses.
var roads = []string{
	"南营子大街", "武烈路", "车站路", "翠桥路", "半壁山路", "迎宾路", "新华路", "潘家沟路",
	"滨河路", "北环路", "东兴路", "西大街", "中华路", "元宝山路", "冯营子大街", "庙宇路",
}

// logisticsWords and serviceWords name the other organisations.
var logisticsWords = []string{"快递", "物流", "速运", "供应链", "快运", "仓储物流", "同城配送"}

type serviceForm struct {
	Form  string
	Words []string
}

var serviceForms = []serviceForm{
	{"operation", []string{"电商代运营", "网店运营", "直播运营", "电子商务服务"}},
	{"consulting", []string{"企业管理咨询", "电子商务咨询", "品牌策划"}},
	{"credit_service", []string{"信用管理", "征信服务", "信用评估"}},
	{"other", []string{"网络科技", "软件开发", "数据服务"}},
}

// mobilePrefixes are real mainland mobile number blocks (13x–19x).
var mobilePrefixes = []string{
	"130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
	"145", "147", "150", "151", "152", "153", "155", "156", "157", "158", "159",
	"166", "173", "175", "176", "177", "178", "180", "181", "182", "183",
	"185", "186", "187", "188", "189", "191", "195", "198", "199",
}
