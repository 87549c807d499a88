package stages

import "lopper/pipeline"

// Register adds lopper's stage kinds (load, score, prune, retrain,
// evaluate, verify, save, report, exec) and the codecs of their artifacts (model,
// scores) to reg.
func Register(reg *pipeline.Registry) {
	registerLoad(reg)
	registerScore(reg)
	registerPrune(reg)
	registerRetrain(reg)
	registerEvaluate(reg)
	registerVerify(reg)
	registerSave(reg)
	registerReport(reg)
	registerExec(reg)
	reg.RegisterCodec(modelCodec{})
	reg.RegisterCodec(scoresCodec{})
}
