package dev.panamann.spark;

import dev.panamann.dist.Collective;
import dev.panamann.io.AtomicFiles;
import dev.panamann.models.Model;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.train.Solver;
import dev.panamann.train.TrainingListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The Solver listener that makes a replica data-parallel: after every backward pass it
 * averages the model's gradient buffer across the ranks (in place, one all-reduce), before
 * every accuracy check it averages the model's buffers (batch norm's running statistics), and
 * after every check with checkpoints it sends every rank's generator states to rank 0, which
 * writes them next to its checkpoint (the only file that differs per rank).
 */
final class GradientSync implements TrainingListener {
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED;

    private final Collective collective;
    private final Model model;
    private final int failIteration;
    private final boolean keepLast;
    private final String checkpointDir;
    private final MemorySegment states;
    private LinkedHashMap<String, float[]> last;

    /**
     * @param failIteration an iteration after whose backward pass to throw (fault injection), or -1
     * @param keepLast      whether to copy the parameters after the last step
     * @param checkpointDir where rank 0 writes checkpoints, or null for none
     * @param arena         owns the buffer of the generator states
     */
    GradientSync(Collective collective, Model model, int failIteration, boolean keepLast, String checkpointDir, Arena arena) {
        this.collective = collective;
        this.model = model;
        this.failIteration = failIteration;
        this.keepLast = keepLast;
        this.checkpointDir = checkpointDir;
        this.states = checkpointDir == null ? null : arena.allocate((long) stateLongs(model) * Long.BYTES, Long.BYTES);
    }

    /** The solver's generator and every model generator, three longs each ({@link Rng#getState()}). */
    private static int stateLongs(Model model) {
        return 3 * (1 + model.generators().size());
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

    /**
     * After rank 0's checkpoint of this check: every rank's generator states (which the
     * checkpoint holds only rank 0's of) go to rank 0, which writes them atomically; the
     * checkpoint counts as complete once they are written.
     */
    @Override
    public void onCheck(Solver solver, Check check) {
        if (checkpointDir == null) return;
        List<Rng> gens = new ArrayList<>();
        gens.add(solver.state().rng());
        gens.addAll(model.generators());
        StringBuilder text = new StringBuilder();
        for (int r = 0; r < collective.size(); r++) {
            if (r == collective.rank()) {
                for (int g = 0; g < gens.size(); g++) MemorySegment.copy(gens.get(g).getState(), 0, states, L, 3L * g * Long.BYTES, 3);
            }
            collective.broadcast(states, r);
            text.append(r);
            for (long v : states.toArray(ValueLayout.JAVA_LONG)) text.append(' ').append(v);
            text.append('\n');
        }
        if (collective.rank() != 0) return;
        try {
            AtomicFiles.writeString(SparkTrainer.generatorsFile(checkpointDir, check.epoch()), text.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sets this rank's generator states from a file written at a check (after resuming from rank 0's checkpoint). */
    static void restoreGenerators(Path file, int rank, Solver solver) throws IOException {
        List<Rng> gens = new ArrayList<>();
        gens.add(solver.state().rng());
        gens.addAll(solver.model().generators());
        for (String line : Files.readAllLines(file)) {
            String[] f = line.trim().split(" ");
            if (!f[0].equals(Integer.toString(rank))) continue;
            if (f.length != 1 + 3 * gens.size()) {
                throw new IOException(file + ": rank " + rank + " has " + (f.length - 1) + " state values, this model needs "
                        + 3 * gens.size());
            }
            for (int g = 0; g < gens.size(); g++) {
                gens.get(g).setState(new long[] {Long.parseLong(f[1 + 3 * g]), Long.parseLong(f[2 + 3 * g]), Long.parseLong(f[3 + 3 * g])});
            }
            return;
        }
        throw new IOException(file + " holds no generator states of rank " + rank);
    }

    /** The parameters and buffers after the last step, or null. */
    LinkedHashMap<String, float[]> last() { return last; }
}
