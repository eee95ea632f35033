package dev.panamann.spark;

import dev.panamann.dist.Collective;
import dev.panamann.models.Model;
import dev.panamann.tensor.Tensor;
import dev.panamann.train.Solver;
import dev.panamann.train.TrainingListener;
import java.util.LinkedHashMap;

/**
 * The Solver listener that makes a replica data-parallel: after every backward pass it
 * averages the model's gradient buffer across the ranks (in place, one all-reduce), and before
 * every accuracy check it averages the model's buffers (batch norm's running statistics).
 */
final class GradientSync implements TrainingListener {
    private final Collective collective;
    private final Model model;
    private final int failIteration;
    private final boolean keepLast;
    private LinkedHashMap<String, float[]> last;

    /**
     * @param failIteration an iteration after whose backward pass to throw (fault injection), or -1
     * @param keepLast      whether to copy the parameters after the last step
     */
    GradientSync(Collective collective, Model model, int failIteration, boolean keepLast) {
        this.collective = collective;
        this.model = model;
        this.failIteration = failIteration;
        this.keepLast = keepLast;
    }

    @Override
    public void afterBackward(Solver solver, int iteration, float loss) {
        if (iteration == failIteration) {
            throw new IllegalStateException("injected failure after the backward pass of iteration " + iteration
                    + " on rank " + collective.rank());
        }
        collective.allReduceMean(model.gradients().segment());
    }

    @Override
    public void afterStep(Solver solver, Progress p) {
        int it = p.iteration();
        boolean check = it == 1 || it == p.numIterations() || it % solver.iterationsPerEpoch() == 0;
        if (check) for (Tensor t : model.buffers().values()) collective.allReduceMean(t.segment());
        if (keepLast && it == p.numIterations()) last = Worker.snapshot(model);
    }

    /** The parameters and buffers after the last step, or null. */
    LinkedHashMap<String, float[]> last() { return last; }
}
