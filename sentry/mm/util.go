package mm

import (
	"github.com/palisade-sandbox/palisade/platform"
	"github.com/palisade-sandbox/palisade/sentry/pgalloc"
)

func pgaFileRange(off, n uint64) pgalloc.FileRange {
	return pgalloc.FileRange{Start: off, End: off + n}
}

// writeAccess is a write access, for Sentry copies into guest memory.
var writeAccess = platform.AccessType{Write: true}
