"""Write a ReLU network as a .nnet file (the text format of the ACAS Xu
networks that reluverify reads), for the scripts that make test sets.

`layers` is a list of (weights, bias) pairs, weights of shape (out, in);
every layer but the last is followed by ReLU. No normalisation: the input
limits are `lower` and `upper` (one number for every input), means zero and
ranges one.
"""


def write(path, layers, lower, upper, comment):
    sizes = [layers[0][0].shape[1]] + [w.shape[0] for w, _ in layers]
    inputs = sizes[0]

    def row(values):
        return ",".join(values) + ",\n"

    with open(path, "w") as f:
        f.write(f"// {comment}\n")
        f.write(row(map(str, [len(layers), inputs, sizes[-1], max(sizes)])))
        f.write(row(map(str, sizes)))
        f.write("0,\n")
        f.write(row([repr(float(lower))] * inputs) + row([repr(float(upper))] * inputs))
        f.write(row(["0.0"] * (inputs + 1)) + row(["1.0"] * (inputs + 1)))
        for w, b in layers:
            for r in w:
                f.write(row(repr(float(v)) for v in r))
            f.write("".join(f"{float(v)!r},\n" for v in b))
