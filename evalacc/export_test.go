package evalacc

import "github.com/xentlab/xent/internal/wire"

func sealPartial(payload []byte) []byte { return wire.Seal(partialMagic, partialVersion, payload) }
