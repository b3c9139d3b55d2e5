package localplane

// Parsers of the metrics accounting, for tests.
var (
	ParseProcStat  = parseProcStat
	ParseSystemCPU = parseSystemCPU
	ParseKB        = parseKB
)
