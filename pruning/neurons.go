package pruning

import "lopper/model"

// neuronUnits describes the MLP neurons of block layer as scoring units:
// neuron j owns row j of gate_proj and up_proj (GPT-2: c_fc) with their
// bias entries and column j of down_proj (mlp.c_proj); its activation is
// column j of down_proj's input.
func neuronUnits(l *model.Layout, layer int, d model.LayerDims) ([]unitDesc, model.TensorInfo, error) {
	mt, err := blockMLP(l, layer)
	if err != nil {
		return nil, model.TensorInfo{}, err
	}
	us := make([]unitDesc, d.Intermediate)
	for j := range us {
		js := []int{j}
		us[j] = unitDesc{regions: mt.neuronRegions(js), outCols: js}
	}
	return us, mt.down, nil
}
