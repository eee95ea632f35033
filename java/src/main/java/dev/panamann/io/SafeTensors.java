package dev.panamann.io;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import dev.panamann.tensor.Tensor;
import java.io.IOException;
import java.io.StringReader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a>
 * format, so that Python ({@code safetensors.numpy.load_file}, {@code safe_open}) and other
 * tools can open what this library saves, and the other way round:
 * <pre>
 *   8 bytes       N, the header length, unsigned 64-bit little-endian
 *   N bytes       JSON header, UTF-8, padded with spaces to a multiple of 8:
 *                 {"__metadata__": {"key": "value", ...},
 *                  "name": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}
 *   rest          the tensors' bytes, little-endian, row-major; offsets count from here
 * </pre>
 * Tensors are written in the order of the map, contiguously from offset 0. Only {@code F32}
 * tensors can be loaded into {@link Tensor}s; {@link #readHeader} describes any dtype.
 *
 * <p>Reading checks everything the reference implementation checks (header length within the
 * file, valid UTF-8 JSON, known dtypes, byte counts matching shapes, offsets contiguous and
 * covering the data exactly); a violation throws {@link SafeTensorsFormatException} with the
 * file and the byte offset.
 */
public final class SafeTensors {
    /** Key of the free-form string map in the header. */
    public static final String METADATA_KEY = "__metadata__";
    /** Largest header accepted (the reference implementation's limit). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat NATIVE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int CHUNK_FLOATS = 1 << 18; // 1 MiB staging buffer
    private static final Map<String, Integer> DTYPE_BYTES = dtypes();

    private SafeTensors() {}

    /** Where one tensor is in a file. Offsets count from the start of the data section. */
    public record Entry(String name, String dtype, int[] shape, long begin, long end) {
        /** Number of elements. */
        public long elements() {
            long n = 1;
            for (int d : shape) n *= d;
            return n;
        }

        /** The shape as text, e.g. {@code [2, 3]}. */
        public String shapeString() { return Arrays.toString(shape); }
    }

    /**
     * A parsed header.
     *
     * @param file      the file it came from
     * @param dataStart byte offset of the data section in the file (8 + header length)
     * @param entries   the tensors by name, in data-offset order
     * @param metadata  the {@code __metadata__} map (empty when absent)
     */
    public record Header(Path file, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {}

    /** Loaded tensors (owned: {@link #close()} frees them) and the metadata. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) implements AutoCloseable {
        @Override
        public void close() { tensors.values().forEach(Tensor::close); }
    }

    // ------------------------------------------------------------------ write

    /**
     * Writes tensors to a safetensors file atomically (see {@link AtomicFiles}).
     *
     * @param file     the file to create or replace
     * @param tensors  name to tensor (any shape, float32); written in the map's order
     * @param metadata free-form strings stored as {@code __metadata__}; may be empty or null
     */
    public static void save(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        JsonObject header = new JsonObject();
        if (metadata != null && !metadata.isEmpty()) {
            JsonObject meta = new JsonObject();
            for (var e : metadata.entrySet()) {
                if (e.getKey() == null || e.getValue() == null) {
                    throw new IllegalArgumentException("metadata keys and values must not be null: " + e);
                }
                meta.addProperty(e.getKey(), e.getValue());
            }
            header.add(METADATA_KEY, meta);
        }
        long offset = 0;
        List<Tensor> order = new ArrayList<>(tensors.size());
        for (var e : tensors.entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (name == null || name.isEmpty() || name.equals(METADATA_KEY)) {
                throw new IllegalArgumentException("invalid tensor name '" + name + "'");
            }
            if (t == null) throw new IllegalArgumentException("tensor '" + name + "' is null");
            t.checkOpen();
            JsonObject info = new JsonObject();
            info.addProperty("dtype", "F32");
            JsonArray shape = new JsonArray();
            for (int d : t.shape()) shape.add(d);
            info.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offset += t.size() * Float.BYTES;
            offsets.add(offset);
            info.add("data_offsets", offsets);
            header.add(name, info);
            order.add(t);
        }
        byte[] json = new GsonBuilder().disableHtmlEscaping().create().toJson(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8; // data starts 8-byte aligned, as the reference writer pads
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        AtomicFiles.write(file, ch -> {
            writeFully(ch, head);
            byte[] stage = new byte[CHUNK_FLOATS * Float.BYTES];
            MemorySegment stageSeg = MemorySegment.ofArray(stage);
            for (Tensor t : order) {
                MemorySegment src = t.segment();
                long n = t.size();
                for (long i = 0; i < n; i += CHUNK_FLOATS) {
                    int c = (int) Math.min(CHUNK_FLOATS, n - i);
                    MemorySegment.copy(src, NATIVE_FLOAT, i * Float.BYTES, stageSeg, LE_FLOAT, 0, c);
                    writeFully(ch, ByteBuffer.wrap(stage, 0, c * Float.BYTES));
                }
            }
        });
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    // ------------------------------------------------------------------ read

    /**
     * Reads and checks the header of a safetensors file (tensors of any dtype).
     *
     * @throws SafeTensorsFormatException when the file is not a valid safetensors file
     */
    public static Header readHeader(Path file) throws IOException {
        try (FileChannel ch = openForReading(file)) {
            return readHeader(file, ch);
        } catch (IOException e) {
            throw namingTheFile(file, e);
        }
    }

    /** Opens a file to read; a folder given for it is an error naming the folder (not a bare "Is a directory" on the first read). */
    private static FileChannel openForReading(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new FileSystemException(file.toString(), null, "is a directory, expected a safetensors file");
        return FileChannel.open(file, StandardOpenOption.READ);
    }

    /**
     * An I/O error whose message names the file: the JDK's own messages from a read
     * ("Is a directory", "Input/output error") do not. Errors that name it already pass unchanged.
     */
    static IOException namingTheFile(Path file, IOException e) {
        if (e instanceof FileSystemException || e instanceof SafeTensorsFormatException) return e;
        String m = e.getMessage();
        if (m != null && m.contains(file.toString())) return e;
        return new IOException(file + ": " + (m == null || m.isBlank() ? e.getClass().getSimpleName() : m), e);
    }

    /** Loads every tensor of a file (all must be F32). */
    public static Contents load(Path file) throws IOException {
        return load(file, name -> true);
    }

    /**
     * Loads the tensors whose names pass {@code filter} (all of those must be F32).
     * Everything is read into new tensors; on any error nothing is returned and the tensors
     * made so far are freed.
     */
    public static Contents load(Path file, Predicate<String> filter) throws IOException {
        try {
            return loadChecked(file, filter);
        } catch (IOException e) {
            throw namingTheFile(file, e);
        }
    }

    private static Contents loadChecked(Path file, Predicate<String> filter) throws IOException {
        try (FileChannel ch = openForReading(file)) {
            Header h = readHeader(file, ch);
            for (Entry e : h.entries().values()) {
                if (filter.test(e.name()) && !e.dtype().equals("F32")) {
                    throw new SafeTensorsFormatException(file, h.dataStart() + e.begin(), "tensor '" + e.name() + "' has dtype "
                            + e.dtype() + "; only F32 can be loaded");
                }
            }
            Map<String, Tensor> out = new LinkedHashMap<>();
            boolean ok = false;
            try {
                byte[] stage = new byte[CHUNK_FLOATS * Float.BYTES];
                MemorySegment stageSeg = MemorySegment.ofArray(stage);
                for (Entry e : h.entries().values()) {
                    if (!filter.test(e.name())) continue;
                    Tensor t = Tensor.zeros(e.shape());
                    out.put(e.name(), t);
                    long n = t.size(), pos = h.dataStart() + e.begin();
                    for (long i = 0; i < n; i += CHUNK_FLOATS) {
                        int c = (int) Math.min(CHUNK_FLOATS, n - i);
                        ByteBuffer b = ByteBuffer.wrap(stage, 0, c * Float.BYTES);
                        while (b.hasRemaining()) {
                            int r = ch.read(b, pos + b.position());
                            if (r < 0) {
                                throw new SafeTensorsFormatException(file, pos + b.position(), "file ends inside tensor '"
                                        + e.name() + "' (truncated)");
                            }
                        }
                        MemorySegment.copy(stageSeg, LE_FLOAT, 0, t.segment(), NATIVE_FLOAT, i * Float.BYTES, c);
                        pos += (long) c * Float.BYTES;
                    }
                }
                ok = true;
                return new Contents(Collections.unmodifiableMap(out), h.metadata());
            } finally {
                if (!ok) out.values().forEach(Tensor::close);
            }
        }
    }

    private static Header readHeader(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) {
            throw new SafeTensorsFormatException(file, 0, "file has " + size + " bytes, too short for the 8-byte header length");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(file, ch, lenBuf, 0);
        long n = lenBuf.flip().getLong();
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new SafeTensorsFormatException(file, 0, "header length " + Long.toUnsignedString(n) + " is larger than "
                    + MAX_HEADER_BYTES + " bytes: not a safetensors file");
        }
        if (n < 2 || 8 + n > size) {
            throw new SafeTensorsFormatException(file, 0, "header length " + n + " does not fit in the file of " + size
                    + " bytes (truncated, or not a safetensors file)");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) n);
        readFully(file, ch, hb, 8);
        String json;
        try {
            json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(hb.flip()).toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsFormatException(file, 8, "header is not valid UTF-8");
        }
        if (!json.startsWith("{")) {
            throw new SafeTensorsFormatException(file, 8, "header does not start with '{': not a safetensors file");
        }
        long dataStart = 8 + n, dataLength = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        try (JsonReader r = new JsonReader(new StringReader(json))) {
            r.setStrictness(Strictness.STRICT);
            r.beginObject();
            List<String> seen = new ArrayList<>();
            while (r.hasNext()) {
                String name = r.nextName();
                if (seen.contains(name)) throw new SafeTensorsFormatException(file, 8, "header names '" + name + "' twice");
                seen.add(name);
                JsonElement value = JsonParser.parseReader(r);
                if (name.equals(METADATA_KEY)) {
                    if (!value.isJsonObject()) throw new SafeTensorsFormatException(file, 8, METADATA_KEY + " is not an object");
                    for (var e : value.getAsJsonObject().entrySet()) {
                        if (!e.getValue().isJsonPrimitive() || !e.getValue().getAsJsonPrimitive().isString()) {
                            throw new SafeTensorsFormatException(file, 8, METADATA_KEY + " value of '" + e.getKey()
                                    + "' is not a string");
                        }
                        metadata.put(e.getKey(), e.getValue().getAsString());
                    }
                } else {
                    entries.add(entry(file, name, value));
                }
            }
            r.endObject();
            if (r.peek() != JsonToken.END_DOCUMENT) {
                throw new SafeTensorsFormatException(file, 8, "header has text after the JSON object");
            }
        } catch (JsonParseException | IllegalStateException | IOException e) {
            if (e instanceof SafeTensorsFormatException s) throw s;
            throw new SafeTensorsFormatException(file, 8, "header (" + n + " bytes) is not valid JSON: " + e.getMessage());
        }
        // offsets: contiguous from 0, covering the data section exactly
        entries.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expected = 0;
        Map<String, Entry> byName = new LinkedHashMap<>();
        for (Entry e : entries) {
            if (e.begin() != expected) {
                throw new SafeTensorsFormatException(file, dataStart + Math.min(e.begin(), expected), "tensor '" + e.name()
                        + "' starts at data offset " + e.begin() + " but the previous tensor ends at " + expected
                        + " (tensors must be contiguous and not overlap)");
            }
            if (e.end() > dataLength) {
                throw new SafeTensorsFormatException(file, size, "tensor '" + e.name() + "' ends at byte offset "
                        + (dataStart + e.end()) + " but the file has only " + size + " bytes (truncated)");
            }
            expected = e.end();
            byName.put(e.name(), e);
        }
        if (expected != dataLength) {
            throw new SafeTensorsFormatException(file, dataStart + expected, "the file has " + (dataLength - expected)
                    + " bytes after the last tensor; the header does not describe them");
        }
        return new Header(file, dataStart, Collections.unmodifiableMap(byName), Collections.unmodifiableMap(metadata));
    }

    private static Entry entry(Path file, String name, JsonElement value) throws SafeTensorsFormatException {
        if (!value.isJsonObject()) throw new SafeTensorsFormatException(file, 8, "tensor '" + name + "' is not an object");
        JsonObject o = value.getAsJsonObject();
        JsonElement dt = o.get("dtype"), sh = o.get("shape"), off = o.get("data_offsets");
        if (dt == null || !dt.isJsonPrimitive() || !dt.getAsJsonPrimitive().isString()) {
            throw new SafeTensorsFormatException(file, 8, "tensor '" + name + "' has no dtype string");
        }
        String dtype = dt.getAsString();
        Integer width = DTYPE_BYTES.get(dtype);
        if (width == null) {
            throw new SafeTensorsFormatException(file, 8, "tensor '" + name + "' has unknown dtype '" + dtype + "'");
        }
        if (sh == null || !sh.isJsonArray()) throw new SafeTensorsFormatException(file, 8, "tensor '" + name + "' has no shape array");
        JsonArray sa = sh.getAsJsonArray();
        int[] shape = new int[sa.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            long d = whole(file, name, "shape", sa.get(i));
            if (d > Integer.MAX_VALUE) throw new SafeTensorsFormatException(file, 8, "tensor '" + name + "' dimension " + d + " too large");
            shape[i] = (int) d;
            elements = Math.multiplyHigh(elements, d) != 0 ? -1 : elements * d;
            if (elements < 0) throw new SafeTensorsFormatException(file, 8, "tensor '" + name + "' has too many elements");
        }
        if (off == null || !off.isJsonArray() || off.getAsJsonArray().size() != 2) {
            throw new SafeTensorsFormatException(file, 8, "tensor '" + name + "' has no data_offsets [begin, end]");
        }
        long begin = whole(file, name, "data_offsets", off.getAsJsonArray().get(0));
        long end = whole(file, name, "data_offsets", off.getAsJsonArray().get(1));
        if (end < begin) {
            throw new SafeTensorsFormatException(file, 8, "tensor '" + name + "' has data_offsets [" + begin + ", " + end
                    + "] that end before they begin");
        }
        if (elements > Long.MAX_VALUE / width || end - begin != elements * width) {
            throw new SafeTensorsFormatException(file, 8, "tensor '" + name + "' of dtype " + dtype + " and shape "
                    + Arrays.toString(shape) + " needs " + elements * width + " bytes but data_offsets [" + begin + ", " + end
                    + "] span " + (end - begin));
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long whole(Path file, String name, String field, JsonElement e) throws SafeTensorsFormatException {
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            try {
                BigDecimal v = e.getAsBigDecimal();
                if (v.signum() >= 0 && v.stripTrailingZeros().scale() <= 0) return v.longValueExact();
            } catch (ArithmeticException | NumberFormatException ignored) {
                // falls through to the error
            }
        }
        throw new SafeTensorsFormatException(file, 8, "tensor '" + name + "' has " + field + " value " + e
                + " that is not a whole number >= 0");
    }

    private static void readFully(Path file, FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + b.position());
            if (r < 0) throw new SafeTensorsFormatException(file, pos + b.position(), "unexpected end of file");
        }
    }

    private static Map<String, Integer> dtypes() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (String s : new String[] {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3"}) m.put(s, 1);
        for (String s : new String[] {"I16", "U16", "F16", "BF16"}) m.put(s, 2);
        for (String s : new String[] {"I32", "U32", "F32"}) m.put(s, 4);
        for (String s : new String[] {"I64", "U64", "F64"}) m.put(s, 8);
        return Collections.unmodifiableMap(m);
    }
}
