package sched_test

import "lopper/pipeline/exectest"

// corpus are recipes of the test kind emit that exercise every scheduling
// rule without timing: what they record does not depend on the order in
// which stages finish (no --fail-fast, no interrupts).
var corpus = []struct{ name, src string }{
	{"dag", `version: 1
params: {strict: false}
stages:
  a: {uses: emit, with: {value: 2, metrics: {x: 2}}}
  b: {uses: emit, with: {input: a, add: 3}}
  c: {uses: emit, with: {reads: [a], metrics: {y: "${{ a.x * 10 }}"}}}
  d: {uses: emit, needs: [b], with: {reads: [c], input: b, add: "${{ c.y }}"}}
  e: {uses: emit, when: "params.strict || a.x > 5", with: {metrics: {x: 1}}}
  f: {uses: emit, with: {reads: [e], metrics: {x: 1}}}
  g: {uses: emit, when: "a.x == 2", with: {details: {note: kept}}}
`},
	{"failure isolation", `version: 1
stages:
  bad: {uses: emit, with: {fail: "disk on fire"}}
  child: {uses: emit, with: {reads: [bad], metrics: {x: 1}}}
  grandchild: {uses: emit, with: {reads: [child], metrics: {x: 1}}}
  other: {uses: emit, with: {metrics: {x: 1}}}
  after_other: {uses: emit, with: {reads: [other], metrics: {x: 1}}}
  crash: {uses: emit, with: {panic: "index out of range"}}
`},
	{"loop last_passing", exectest.GradualRecipe(10, 0.05, "last_passing")},
	{"loop last", exectest.GradualRecipe(10, 0.05, "last")},
	{"loop max_iterations", exectest.GradualRecipe(3, 0.5, "last_passing")},
	{"loop none passing", exectest.GradualRecipe(5, -1, "last_passing")},
	{"loop body failure", `version: 1
stages:
  base: {uses: emit, with: {value: 1}}
  grow:
    uses: loop
    with: {max_iterations: 5, from: base, carry: step}
    stages:
      step: {uses: emit, with: {input: prev, add: 1, fail: "${{ iteration == 2 ? 'diverged' : '' }}"}}
      side: {uses: emit, with: {reads: [step], metrics: {i: "${{ iteration }}"}}}
  after: {uses: emit, with: {input: grow}}
  free: {uses: emit, with: {metrics: {x: 1}}}
`},
	{"loop skipped carry", `version: 1
stages:
  base: {uses: emit, with: {value: 1}}
  grow:
    uses: loop
    with: {max_iterations: 3, carry: step}
    stages:
      step: {uses: emit, when: "iteration < 1", with: {value: 5}}
`},
	{"matrix", `version: 1
stages:
  base: {uses: emit, with: {value: 100, metrics: {z: 1}}}
  sweep:
    uses: matrix
    with: {sparsity: [0.25, 0.5], method: [wanda, magnitude]}
    stages:
      prune:
        uses: emit
        with:
          input: base
          add: "${{ matrix.sparsity }}"
          details: {method: "${{ matrix.method }}", tag: "${{ matrix.method }}-${{ matrix.sparsity * 100 }}"}
      score: {uses: emit, with: {reads: [prune, base], metrics: {s: "${{ matrix.sparsity * base.z }}"}}}
  after: {uses: emit, with: {reads: [sweep], metrics: {n: "${{ sweep.branches }}"}}}
`},
	{"matrix branch failure", exectest.BranchFailureRecipe},
	{"gates", exectest.GateRecipe},
	{"gate and failure", `version: 1
stages:
  a: {uses: emit, with: {metrics: {x: 1}}}
  gate: {uses: assert, with: {that: "a.x > 1"}}
  bad: {uses: emit, with: {fail: broken}}
`},
	{"nesting", exectest.NestingRecipe},
	{"derived metrics", `version: 1
baseline: base
stages:
  base: {uses: emit, with: {value: 1, metrics: {accuracy: 0.8, perplexity: 8}}}
  pruned: {uses: emit, with: {input: base, add: 1, metrics: {accuracy: 0.75, perplexity: 10}}}
  gate: {uses: assert, with: {that: "pruned.acc_drop < 0.1 && pruned.ppl_ratio < 1.5"}}
`},
}
