--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: __DASHAI_SCHEMA__; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA __DASHAI_SCHEMA__;


--
-- Name: parameter_history_append_only(); Type: FUNCTION; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE FUNCTION __DASHAI_SCHEMA__.parameter_history_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM generative_session WHERE id = OLD.session_id) THEN RETURN OLD; END IF; RAISE EXCEPTION 'parameter_history is append-only' USING ERRCODE = 'integrity_constraint_violation'; END $$;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: converter; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.converter (
    id integer NOT NULL,
    status text NOT NULL,
    huey_id text,
    delivery_time timestamp without time zone,
    start_time timestamp without time zone,
    end_time timestamp without time zone,
    error text,
    notebook_id integer NOT NULL,
    converter text NOT NULL,
    parameters text NOT NULL,
    "position" integer NOT NULL,
    snapshot_path text,
    created timestamp without time zone NOT NULL,
    last_modified timestamp without time zone NOT NULL,
    CONSTRAINT converter_status_check CHECK ((status = ANY (ARRAY['NOT_STARTED'::text, 'DELIVERED'::text, 'STARTED'::text, 'FINISHED'::text, 'ERROR'::text])))
);


--
-- Name: converter_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.converter_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: converter_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.converter_id_seq OWNED BY __DASHAI_SCHEMA__.converter.id;


--
-- Name: dashai_pending_deletion; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.dashai_pending_deletion (
    id integer NOT NULL,
    path text NOT NULL,
    created timestamp without time zone NOT NULL
);


--
-- Name: dashai_pending_deletion_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.dashai_pending_deletion_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: dashai_pending_deletion_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.dashai_pending_deletion_id_seq OWNED BY __DASHAI_SCHEMA__.dashai_pending_deletion.id;


--
-- Name: dashai_schema_migration; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.dashai_schema_migration (
    sequence integer NOT NULL,
    id text NOT NULL,
    checksum text NOT NULL,
    applied_at text NOT NULL,
    library_version text NOT NULL,
    duration_ms double precision NOT NULL
);


--
-- Name: dataset; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.dataset (
    id integer NOT NULL,
    status text NOT NULL,
    huey_id text,
    delivery_time timestamp without time zone,
    start_time timestamp without time zone,
    end_time timestamp without time zone,
    error text,
    name text NOT NULL,
    file_path text,
    lineage text,
    created timestamp without time zone NOT NULL,
    last_modified timestamp without time zone NOT NULL,
    CONSTRAINT dataset_status_check CHECK ((status = ANY (ARRAY['NOT_STARTED'::text, 'DELIVERED'::text, 'STARTED'::text, 'FINISHED'::text, 'ERROR'::text])))
);


--
-- Name: dataset_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.dataset_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: dataset_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.dataset_id_seq OWNED BY __DASHAI_SCHEMA__.dataset.id;


--
-- Name: explorer; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.explorer (
    id integer NOT NULL,
    status text NOT NULL,
    huey_id text,
    delivery_time timestamp without time zone,
    start_time timestamp without time zone,
    end_time timestamp without time zone,
    error text,
    notebook_id integer NOT NULL,
    name text,
    exploration_type text NOT NULL,
    columns text NOT NULL,
    parameters text NOT NULL,
    exploration_path text,
    "position" integer NOT NULL,
    created timestamp without time zone NOT NULL,
    last_modified timestamp without time zone NOT NULL,
    CONSTRAINT explorer_status_check CHECK ((status = ANY (ARRAY['NOT_STARTED'::text, 'DELIVERED'::text, 'STARTED'::text, 'FINISHED'::text, 'ERROR'::text])))
);


--
-- Name: explorer_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.explorer_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: explorer_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.explorer_id_seq OWNED BY __DASHAI_SCHEMA__.explorer.id;


--
-- Name: generative_process; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.generative_process (
    id integer NOT NULL,
    status text NOT NULL,
    huey_id text,
    delivery_time timestamp without time zone,
    start_time timestamp without time zone,
    end_time timestamp without time zone,
    error text,
    session_id integer NOT NULL,
    parameter_history_id integer,
    created timestamp without time zone NOT NULL,
    last_modified timestamp without time zone NOT NULL,
    CONSTRAINT generative_process_status_check CHECK ((status = ANY (ARRAY['NOT_STARTED'::text, 'DELIVERED'::text, 'STARTED'::text, 'FINISHED'::text, 'ERROR'::text])))
);


--
-- Name: generative_process_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.generative_process_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: generative_process_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.generative_process_id_seq OWNED BY __DASHAI_SCHEMA__.generative_process.id;


--
-- Name: generative_session; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.generative_session (
    id integer NOT NULL,
    name text NOT NULL,
    task_name text NOT NULL,
    model_name text NOT NULL,
    parameters text NOT NULL,
    description text,
    created timestamp without time zone NOT NULL,
    last_modified timestamp without time zone NOT NULL
);


--
-- Name: generative_session_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.generative_session_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: generative_session_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.generative_session_id_seq OWNED BY __DASHAI_SCHEMA__.generative_session.id;


--
-- Name: global_explainer; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.global_explainer (
    id integer NOT NULL,
    status text NOT NULL,
    huey_id text,
    delivery_time timestamp without time zone,
    start_time timestamp without time zone,
    end_time timestamp without time zone,
    error text,
    run_id integer NOT NULL,
    name text NOT NULL,
    explainer_name text NOT NULL,
    parameters text NOT NULL,
    explanation_path text,
    plot_path text,
    artifacts text,
    created timestamp without time zone NOT NULL,
    CONSTRAINT global_explainer_status_check CHECK ((status = ANY (ARRAY['NOT_STARTED'::text, 'DELIVERED'::text, 'STARTED'::text, 'FINISHED'::text, 'ERROR'::text])))
);


--
-- Name: global_explainer_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.global_explainer_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: global_explainer_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.global_explainer_id_seq OWNED BY __DASHAI_SCHEMA__.global_explainer.id;


--
-- Name: local_explainer; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.local_explainer (
    id integer NOT NULL,
    status text NOT NULL,
    huey_id text,
    delivery_time timestamp without time zone,
    start_time timestamp without time zone,
    end_time timestamp without time zone,
    error text,
    run_id integer NOT NULL,
    dataset_id integer NOT NULL,
    name text NOT NULL,
    explainer_name text NOT NULL,
    parameters text NOT NULL,
    fit_parameters text NOT NULL,
    scope text NOT NULL,
    explanation_path text,
    plots_path text,
    artifacts text,
    created timestamp without time zone NOT NULL,
    CONSTRAINT local_explainer_status_check CHECK ((status = ANY (ARRAY['NOT_STARTED'::text, 'DELIVERED'::text, 'STARTED'::text, 'FINISHED'::text, 'ERROR'::text])))
);


--
-- Name: local_explainer_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.local_explainer_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: local_explainer_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.local_explainer_id_seq OWNED BY __DASHAI_SCHEMA__.local_explainer.id;


--
-- Name: metric; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.metric (
    id integer NOT NULL,
    run_id integer NOT NULL,
    name text NOT NULL,
    value double precision,
    split text NOT NULL,
    level text NOT NULL,
    step integer NOT NULL,
    "timestamp" timestamp without time zone NOT NULL,
    CONSTRAINT metric_level_check CHECK (((level = 'LAST'::text) OR (level = 'STEP'::text) OR (level = 'BATCH'::text) OR (level = 'TRIAL'::text))),
    CONSTRAINT metric_split_check CHECK (((split = 'TRAIN'::text) OR (split = 'VALIDATION'::text) OR (split = 'TEST'::text)))
);


--
-- Name: metric_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.metric_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: metric_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.metric_id_seq OWNED BY __DASHAI_SCHEMA__.metric.id;


--
-- Name: model_session; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.model_session (
    id integer NOT NULL,
    dataset_id integer NOT NULL,
    name text NOT NULL,
    task_name text NOT NULL,
    input_columns text NOT NULL,
    output_columns text NOT NULL,
    train_metrics text,
    validation_metrics text,
    test_metrics text,
    splits text NOT NULL,
    created timestamp without time zone NOT NULL,
    last_modified timestamp without time zone NOT NULL
);


--
-- Name: model_session_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.model_session_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: model_session_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.model_session_id_seq OWNED BY __DASHAI_SCHEMA__.model_session.id;


--
-- Name: notebook; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.notebook (
    id integer NOT NULL,
    dataset_id integer NOT NULL,
    name text,
    description text,
    file_path text NOT NULL,
    current_position integer NOT NULL,
    created timestamp without time zone NOT NULL,
    last_modified timestamp without time zone NOT NULL
);


--
-- Name: notebook_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.notebook_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: notebook_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.notebook_id_seq OWNED BY __DASHAI_SCHEMA__.notebook.id;


--
-- Name: parameter_history; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.parameter_history (
    id integer NOT NULL,
    session_id integer NOT NULL,
    parameters text NOT NULL,
    modified_at timestamp without time zone NOT NULL
);


--
-- Name: parameter_history_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.parameter_history_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: parameter_history_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.parameter_history_id_seq OWNED BY __DASHAI_SCHEMA__.parameter_history.id;


--
-- Name: plugin; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.plugin (
    id integer NOT NULL,
    name text NOT NULL,
    author text NOT NULL,
    installed_version text NOT NULL,
    latest_version text NOT NULL,
    status text NOT NULL,
    summary text NOT NULL,
    description text NOT NULL,
    description_content_type text NOT NULL,
    created timestamp without time zone NOT NULL,
    last_modified timestamp without time zone NOT NULL,
    CONSTRAINT plugin_status_check CHECK ((status = ANY (ARRAY['REGISTERED'::text, 'INSTALLED'::text, 'ERROR'::text])))
);


--
-- Name: plugin_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.plugin_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: plugin_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.plugin_id_seq OWNED BY __DASHAI_SCHEMA__.plugin.id;


--
-- Name: prediction; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.prediction (
    id integer NOT NULL,
    status text NOT NULL,
    huey_id text,
    delivery_time timestamp without time zone,
    start_time timestamp without time zone,
    end_time timestamp without time zone,
    error text,
    run_id integer NOT NULL,
    dataset_id integer,
    results_path text,
    created timestamp without time zone NOT NULL,
    last_modified timestamp without time zone NOT NULL,
    CONSTRAINT prediction_status_check CHECK ((status = ANY (ARRAY['NOT_STARTED'::text, 'DELIVERED'::text, 'STARTED'::text, 'FINISHED'::text, 'ERROR'::text])))
);


--
-- Name: prediction_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.prediction_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: prediction_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.prediction_id_seq OWNED BY __DASHAI_SCHEMA__.prediction.id;


--
-- Name: process_data; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.process_data (
    id integer NOT NULL,
    process_id integer NOT NULL,
    data text NOT NULL,
    data_type text NOT NULL,
    is_input boolean NOT NULL,
    CONSTRAINT process_data_data_type_check CHECK ((data_type = ANY (ARRAY['str'::text, 'json'::text, 'image'::text, 'bytes'::text])))
);


--
-- Name: process_data_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.process_data_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: process_data_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.process_data_id_seq OWNED BY __DASHAI_SCHEMA__.process_data.id;


--
-- Name: run; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.run (
    id integer NOT NULL,
    status text NOT NULL,
    huey_id text,
    delivery_time timestamp without time zone,
    start_time timestamp without time zone,
    end_time timestamp without time zone,
    error text,
    model_session_id integer NOT NULL,
    name text NOT NULL,
    description text,
    model_name text NOT NULL,
    parameters text NOT NULL,
    split_indexes text,
    optimizer_name text NOT NULL,
    optimizer_parameters text NOT NULL,
    goal_metric text NOT NULL,
    artifacts text,
    run_path text,
    plot_history_path text,
    plot_slice_path text,
    plot_contour_path text,
    plot_importance_path text,
    created timestamp without time zone NOT NULL,
    last_modified timestamp without time zone NOT NULL,
    CONSTRAINT run_status_check CHECK ((status = ANY (ARRAY['NOT_STARTED'::text, 'DELIVERED'::text, 'STARTED'::text, 'FINISHED'::text, 'ERROR'::text])))
);


--
-- Name: run_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.run_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: run_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.run_id_seq OWNED BY __DASHAI_SCHEMA__.run.id;


--
-- Name: tag; Type: TABLE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TABLE __DASHAI_SCHEMA__.tag (
    id integer NOT NULL,
    plugin_id integer NOT NULL,
    name text NOT NULL,
    CONSTRAINT tag_name_check CHECK ((name = ANY (ARRAY['DashAI'::text, 'Package'::text, 'Task'::text, 'Model'::text, 'Metric'::text, 'Dataloader'::text, 'Converter'::text, 'Explainer'::text])))
);


--
-- Name: tag_id_seq; Type: SEQUENCE; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE SEQUENCE __DASHAI_SCHEMA__.tag_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: tag_id_seq; Type: SEQUENCE OWNED BY; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER SEQUENCE __DASHAI_SCHEMA__.tag_id_seq OWNED BY __DASHAI_SCHEMA__.tag.id;


--
-- Name: converter id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.converter ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.converter_id_seq'::regclass);


--
-- Name: dashai_pending_deletion id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.dashai_pending_deletion ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.dashai_pending_deletion_id_seq'::regclass);


--
-- Name: dataset id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.dataset ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.dataset_id_seq'::regclass);


--
-- Name: explorer id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.explorer ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.explorer_id_seq'::regclass);


--
-- Name: generative_process id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.generative_process ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.generative_process_id_seq'::regclass);


--
-- Name: generative_session id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.generative_session ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.generative_session_id_seq'::regclass);


--
-- Name: global_explainer id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.global_explainer ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.global_explainer_id_seq'::regclass);


--
-- Name: local_explainer id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.local_explainer ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.local_explainer_id_seq'::regclass);


--
-- Name: metric id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.metric ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.metric_id_seq'::regclass);


--
-- Name: model_session id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.model_session ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.model_session_id_seq'::regclass);


--
-- Name: notebook id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.notebook ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.notebook_id_seq'::regclass);


--
-- Name: parameter_history id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.parameter_history ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.parameter_history_id_seq'::regclass);


--
-- Name: plugin id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.plugin ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.plugin_id_seq'::regclass);


--
-- Name: prediction id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.prediction ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.prediction_id_seq'::regclass);


--
-- Name: process_data id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.process_data ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.process_data_id_seq'::regclass);


--
-- Name: run id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.run ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.run_id_seq'::regclass);


--
-- Name: tag id; Type: DEFAULT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.tag ALTER COLUMN id SET DEFAULT nextval('__DASHAI_SCHEMA__.tag_id_seq'::regclass);


--
-- Data for Name: converter; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.converter (id, status, huey_id, delivery_time, start_time, end_time, error, notebook_id, converter, parameters, "position", snapshot_path, created, last_modified) VALUES (1, 'FINISHED', NULL, '2026-11-29 13:24:09.74066', '2026-11-29 13:24:09.741844', '2026-11-29 13:24:09.778254', NULL, 1, 'DropColumn', '{"column": "note"}', 1, 'notebooks/1/1.arrow', '2026-11-29 13:24:09.717901', '2026-11-29 13:24:09.778254');
INSERT INTO __DASHAI_SCHEMA__.converter (id, status, huey_id, delivery_time, start_time, end_time, error, notebook_id, converter, parameters, "position", snapshot_path, created, last_modified) VALUES (2, 'FINISHED', NULL, '2026-11-29 13:24:09.810463', '2026-11-29 13:24:09.813065', '2026-11-29 13:24:09.938059', NULL, 1, 'Scale', '{"column": "sepal_length", "factor": 10.0}', 2, 'notebooks/1/2.arrow', '2026-11-29 13:24:09.725952', '2026-11-29 13:24:09.938059');
INSERT INTO __DASHAI_SCHEMA__.converter (id, status, huey_id, delivery_time, start_time, end_time, error, notebook_id, converter, parameters, "position", snapshot_path, created, last_modified) VALUES (4, 'FINISHED', NULL, '2026-11-29 13:24:10.012561', '2026-11-29 13:24:10.013223', '2026-11-29 13:24:10.03148', NULL, 1, 'Head', '{"rows": 20}', 3, 'notebooks/1/4.arrow', '2026-11-29 13:24:10.004874', '2026-11-29 13:24:10.03148');
INSERT INTO __DASHAI_SCHEMA__.converter (id, status, huey_id, delivery_time, start_time, end_time, error, notebook_id, converter, parameters, "position", snapshot_path, created, last_modified) VALUES (5, 'NOT_STARTED', NULL, NULL, NULL, NULL, NULL, 2, 'Scale', '{"column": "petals", "factor": 2}', 1, NULL, '2026-11-29 13:24:10.066263', '2026-11-29 13:24:10.066263');


--
-- Data for Name: dashai_pending_deletion; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.dashai_pending_deletion (id, path, created) VALUES (7, 'datasets/6', '2026-11-29 13:24:10.758507');
INSERT INTO __DASHAI_SCHEMA__.dashai_pending_deletion (id, path, created) VALUES (8, 'datasets/6/data.arrow', '2026-11-29 13:24:10.758507');


--
-- Data for Name: dashai_schema_migration; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.dashai_schema_migration (sequence, id, checksum, applied_at, library_version, duration_ms) VALUES (1, '0001_initial', 'ffbfbcb3a9313ffa4ea1d046fb243f75610c62f24aea03d59ec3e2e7b393195e', '2026-11-29T13:24:09.600189+00:00', '0.1.0', 268.4656129999894);


--
-- Data for Name: dataset; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.dataset (id, status, huey_id, delivery_time, start_time, end_time, error, name, file_path, lineage, created, last_modified) VALUES (1, 'FINISHED', NULL, '2026-11-29 13:24:09.628901', '2026-11-29 13:24:09.632732', '2026-11-29 13:24:09.635287', NULL, 'iris', 'datasets/1/data.arrow', NULL, '2026-11-29 13:24:09.613776', '2026-11-29 13:24:09.635287');
INSERT INTO __DASHAI_SCHEMA__.dataset (id, status, huey_id, delivery_time, start_time, end_time, error, name, file_path, lineage, created, last_modified) VALUES (3, 'FINISHED', NULL, '2026-11-29 13:24:09.675186', '2026-11-29 13:24:09.676571', '2026-11-29 13:24:09.677367', NULL, 'wine', 'datasets/3/data.arrow', '{"source": "wine.csv", "rows": 12}', '2026-11-29 13:24:09.66119', '2026-11-29 13:24:09.677367');
INSERT INTO __DASHAI_SCHEMA__.dataset (id, status, huey_id, delivery_time, start_time, end_time, error, name, file_path, lineage, created, last_modified) VALUES (4, 'ERROR', 'huey-ds-broken', '2026-11-29 13:24:09.686561', '2026-11-29 13:24:09.690222', '2026-11-29 13:24:09.692101', 'ValueError: could not parse line 3', 'broken upload', NULL, NULL, '2026-11-29 13:24:09.684185', '2026-11-29 13:24:09.692101');
INSERT INTO __DASHAI_SCHEMA__.dataset (id, status, huey_id, delivery_time, start_time, end_time, error, name, file_path, lineage, created, last_modified) VALUES (5, 'FINISHED', NULL, '2026-11-29 13:24:10.06074', '2026-11-29 13:24:10.061999', '2026-11-29 13:24:10.062593', NULL, 'iris (clean)', 'datasets/5/data.arrow', '{"source_dataset_id": 1, "source_dataset_name": "iris", "notebook_id": 1, "notebook_name": "cleaning", "position": 3, "steps": [{"position": 1, "converter_id": 1, "converter": "DropColumn", "parameters": {"column": "note"}}, {"position": 2, "converter_id": 2, "converter": "Scale", "parameters": {"column": "sepal_length", "factor": 10.0}}, {"position": 3, "converter_id": 4, "converter": "Head", "parameters": {"rows": 20}}]}', '2026-11-29 13:24:10.053553', '2026-11-29 13:24:10.062593');


--
-- Data for Name: explorer; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.explorer (id, status, huey_id, delivery_time, start_time, end_time, error, notebook_id, name, exploration_type, columns, parameters, exploration_path, "position", created, last_modified) VALUES (1, 'FINISHED', 'huey-explorer-1', '2026-11-29 13:24:10.041636', '2026-11-29 13:24:10.042429', '2026-11-29 13:24:10.049248', NULL, 1, 'lengths', 'Histogram', '["sepal_length"]', '{"bins": 4}', 'explorers/1/result.json', 3, '2026-11-29 13:24:10.040706', '2026-11-29 13:24:10.049248');
INSERT INTO __DASHAI_SCHEMA__.explorer (id, status, huey_id, delivery_time, start_time, end_time, error, notebook_id, name, exploration_type, columns, parameters, exploration_path, "position", created, last_modified) VALUES (2, 'NOT_STARTED', NULL, NULL, NULL, NULL, NULL, 1, NULL, 'Scatter', '["sepal_length", "petals"]', '{}', NULL, 3, '2026-11-29 13:24:10.050956', '2026-11-29 13:24:10.050956');


--
-- Data for Name: generative_process; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.generative_process (id, status, huey_id, delivery_time, start_time, end_time, error, session_id, parameter_history_id, created, last_modified) VALUES (1, 'FINISHED', 'huey-gen-1', '2026-11-29 13:24:10.399835', '2026-11-29 13:24:10.400889', '2026-11-29 13:24:10.42493', NULL, 1, 4, '2026-11-29 13:24:10.394888', '2026-11-29 13:24:10.42493');
INSERT INTO __DASHAI_SCHEMA__.generative_process (id, status, huey_id, delivery_time, start_time, end_time, error, session_id, parameter_history_id, created, last_modified) VALUES (3, 'NOT_STARTED', NULL, NULL, NULL, NULL, NULL, 1, 4, '2026-11-29 13:24:10.450627', '2026-11-29 13:24:10.450627');


--
-- Data for Name: generative_session; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.generative_session (id, name, task_name, model_name, parameters, description, created, last_modified) VALUES (1, 'painter', 'TextToImageTask', 'tiny-diffusion', '{"steps": 8, "guidance": 7.5, "seed": 1}', 'a test painter', '2026-11-29 13:24:10.384896', '2026-11-29 13:24:10.393544');
INSERT INTO __DASHAI_SCHEMA__.generative_session (id, name, task_name, model_name, parameters, description, created, last_modified) VALUES (2, 'chat', 'TextToTextGenerationTask', 'tiny-lm', '{"temperature": 0.7}', NULL, '2026-11-29 13:24:10.452073', '2026-11-29 13:24:10.452073');


--
-- Data for Name: global_explainer; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.global_explainer (id, status, huey_id, delivery_time, start_time, end_time, error, run_id, name, explainer_name, parameters, explanation_path, plot_path, artifacts, created) VALUES (1, 'FINISHED', 'huey-explainer-1', '2026-11-29 13:24:10.542396', '2026-11-29 13:24:10.549388', '2026-11-29 13:24:10.601101', NULL, 1, 'importance', 'PermutationFeatureImportance', '{"repeats": 2}', 'explainers/global/1/explanation.joblib', 'explainers/global/1/plot.json', '{"explanation": {"path": "explainers/global/1/explanation.joblib", "sha256": "82fde57a598c1f5b73588bbae2ce982c926de09b3dfd40a8ac2ca0d7f689814d"}}', '2026-11-29 13:24:10.532182');


--
-- Data for Name: local_explainer; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.local_explainer (id, status, huey_id, delivery_time, start_time, end_time, error, run_id, dataset_id, name, explainer_name, parameters, fit_parameters, scope, explanation_path, plots_path, artifacts, created) VALUES (1, 'FINISHED', NULL, '2026-11-29 13:24:10.647691', '2026-11-29 13:24:10.649271', '2026-11-29 13:24:10.702992', NULL, 1, 5, 'contributions', 'KernelShap', '{"samples": 8}', '{"background": 4}', '{"instances": [0, 2]}', 'explainers/local/1/explanation.joblib', 'explainers/local/1/plot.json', '{"explanation": {"path": "explainers/local/1/explanation.joblib", "sha256": "79082fe396c4336fe87ff9c5b99cb6dc7627cb069fa0cd1b9d6a1717788cc943"}}', '2026-11-29 13:24:10.63657');


--
-- Data for Name: metric; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (1, 1, 'accuracy', 0.5, 'TRAIN', 'LAST', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (2, 1, 'accuracy', 0.625, 'TRAIN', 'LAST', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (3, 1, 'accuracy', 0.75, 'TRAIN', 'LAST', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (4, 1, 'accuracy', 0.5, 'TRAIN', 'STEP', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (5, 1, 'accuracy', 0.625, 'TRAIN', 'STEP', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (6, 1, 'accuracy', 0.75, 'TRAIN', 'STEP', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (7, 1, 'accuracy', 0.5, 'TRAIN', 'BATCH', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (8, 1, 'accuracy', 0.625, 'TRAIN', 'BATCH', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (9, 1, 'accuracy', 0.75, 'TRAIN', 'BATCH', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (10, 1, 'accuracy', 0.5, 'TRAIN', 'TRIAL', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (11, 1, 'accuracy', 0.625, 'TRAIN', 'TRIAL', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (12, 1, 'accuracy', 0.75, 'TRAIN', 'TRIAL', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (13, 1, 'accuracy', 0.5, 'VALIDATION', 'LAST', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (14, 1, 'accuracy', 0.625, 'VALIDATION', 'LAST', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (15, 1, 'accuracy', 0.75, 'VALIDATION', 'LAST', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (16, 1, 'accuracy', 0.5, 'VALIDATION', 'STEP', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (17, 1, 'accuracy', 0.625, 'VALIDATION', 'STEP', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (18, 1, 'accuracy', 0.75, 'VALIDATION', 'STEP', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (19, 1, 'accuracy', 0.5, 'VALIDATION', 'BATCH', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (20, 1, 'accuracy', 0.625, 'VALIDATION', 'BATCH', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (21, 1, 'accuracy', 0.75, 'VALIDATION', 'BATCH', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (22, 1, 'accuracy', 0.5, 'VALIDATION', 'TRIAL', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (23, 1, 'accuracy', 0.625, 'VALIDATION', 'TRIAL', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (24, 1, 'accuracy', 0.75, 'VALIDATION', 'TRIAL', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (25, 1, 'accuracy', 0.5, 'TEST', 'LAST', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (26, 1, 'accuracy', 0.625, 'TEST', 'LAST', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (27, 1, 'accuracy', 0.75, 'TEST', 'LAST', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (28, 1, 'accuracy', 0.5, 'TEST', 'STEP', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (29, 1, 'accuracy', 0.625, 'TEST', 'STEP', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (30, 1, 'accuracy', 0.75, 'TEST', 'STEP', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (31, 1, 'accuracy', 0.5, 'TEST', 'BATCH', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (32, 1, 'accuracy', 0.625, 'TEST', 'BATCH', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (33, 1, 'accuracy', 0.75, 'TEST', 'BATCH', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (34, 1, 'accuracy', 0.5, 'TEST', 'TRIAL', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (35, 1, 'accuracy', 0.625, 'TEST', 'TRIAL', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (36, 1, 'accuracy', 0.75, 'TEST', 'TRIAL', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (37, 1, 'special', NULL, 'TEST', 'STEP', 0, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (38, 1, 'special', 'Infinity', 'TEST', 'STEP', 1, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (39, 1, 'special', '-Infinity', 'TEST', 'STEP', 2, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (40, 1, 'special', -0, 'TEST', 'STEP', 3, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (41, 1, 'special', 0, 'TEST', 'STEP', 4, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (42, 1, 'special', 1e+308, 'TEST', 'STEP', 5, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (43, 1, 'special', 5e-324, 'TEST', 'STEP', 6, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (44, 1, 'special', -1.5, 'TEST', 'STEP', 7, '2026-11-29 13:24:10.109855');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (45, 1, 'loss', 0.125, 'TRAIN', 'LAST', 0, '2026-11-29 13:24:10.134669');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (48, 3, 'rmse', 1, 'VALIDATION', 'STEP', 0, '2026-11-29 13:24:10.326118');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (49, 3, 'rmse', 0.5, 'VALIDATION', 'STEP', 1, '2026-11-29 13:24:10.326118');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (50, 3, 'rmse', 0.3333333333333333, 'VALIDATION', 'STEP', 2, '2026-11-29 13:24:10.326118');
INSERT INTO __DASHAI_SCHEMA__.metric (id, run_id, name, value, split, level, step, "timestamp") VALUES (51, 3, 'rmse', 0.25, 'VALIDATION', 'STEP', 3, '2026-11-29 13:24:10.326118');


--
-- Data for Name: model_session; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.model_session (id, dataset_id, name, task_name, input_columns, output_columns, train_metrics, validation_metrics, test_metrics, splits, created, last_modified) VALUES (1, 5, 'iris classification', 'TabularClassificationTask', '["sepal_length", "sepal_width", "petals"]', '["species"]', '["accuracy", "f1"]', '["accuracy"]', '["accuracy", "f1"]', '{"train": 0.6, "validation": 0.2, "test": 0.2, "seed": 42, "shuffle": true}', '2026-11-29 13:24:10.07812', '2026-11-29 13:24:10.07812');
INSERT INTO __DASHAI_SCHEMA__.model_session (id, dataset_id, name, task_name, input_columns, output_columns, train_metrics, validation_metrics, test_metrics, splits, created, last_modified) VALUES (2, 3, 'wine regression', 'RegressionTask', '["sepal_length"]', '["petals"]', NULL, NULL, NULL, '{"train": 0.8, "test": 0.2}', '2026-11-29 13:24:10.092649', '2026-11-29 13:24:10.092649');


--
-- Data for Name: notebook; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.notebook (id, dataset_id, name, description, file_path, current_position, created, last_modified) VALUES (1, 1, 'cleaning', 'drop the note, scale', 'notebooks/1/4.arrow', 3, '2026-11-29 13:24:09.712812', '2026-11-29 13:24:10.032202');
INSERT INTO __DASHAI_SCHEMA__.notebook (id, dataset_id, name, description, file_path, current_position, created, last_modified) VALUES (2, 3, NULL, NULL, 'datasets/3/data.arrow', 0, '2026-11-29 13:24:10.063671', '2026-11-29 13:24:10.067227');


--
-- Data for Name: parameter_history; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.parameter_history (id, session_id, parameters, modified_at) VALUES (1, 1, '{"steps": 4, "guidance": 7.5, "seed": 1}', '2026-11-29 13:24:10.384896');
INSERT INTO __DASHAI_SCHEMA__.parameter_history (id, session_id, parameters, modified_at) VALUES (2, 1, '{"steps": 8, "guidance": 7.5, "seed": 1}', '2026-11-29 13:24:10.388634');
INSERT INTO __DASHAI_SCHEMA__.parameter_history (id, session_id, parameters, modified_at) VALUES (3, 1, '{"steps": 8, "guidance": 3.0, "seed": 1, "negative": ["blur"]}', '2026-11-29 13:24:10.38978');
INSERT INTO __DASHAI_SCHEMA__.parameter_history (id, session_id, parameters, modified_at) VALUES (4, 1, '{"steps": 8, "guidance": 7.5, "seed": 1}', '2026-11-29 13:24:10.393544');
INSERT INTO __DASHAI_SCHEMA__.parameter_history (id, session_id, parameters, modified_at) VALUES (5, 2, '{"temperature": 0.7}', '2026-11-29 13:24:10.452073');


--
-- Data for Name: plugin; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.plugin (id, name, author, installed_version, latest_version, status, summary, description, description_content_type, created, last_modified) VALUES (1, 'dashai-svc', 'DashAI', '1.1.0', '1.1.0', 'INSTALLED', 'SVC and explainers', '', 'text/plain', '2026-11-29 13:24:10.454874', '2026-11-29 13:24:10.50476');
INSERT INTO __DASHAI_SCHEMA__.plugin (id, name, author, installed_version, latest_version, status, summary, description, description_content_type, created, last_modified) VALUES (4, 'dashai-loader', 'DashAI', '', '2.0.0', 'REGISTERED', '', '', 'text/plain', '2026-11-29 13:24:10.511791', '2026-11-29 13:24:10.511791');


--
-- Data for Name: prediction; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.prediction (id, status, huey_id, delivery_time, start_time, end_time, error, run_id, dataset_id, results_path, created, last_modified) VALUES (1, 'FINISHED', 'huey-prediction-1', '2026-11-29 13:24:10.363276', '2026-11-29 13:24:10.368704', '2026-11-29 13:24:10.378132', NULL, 1, 5, 'predictions/1/results.arrow', '2026-11-29 13:24:10.360303', '2026-11-29 13:24:10.378132');
INSERT INTO __DASHAI_SCHEMA__.prediction (id, status, huey_id, delivery_time, start_time, end_time, error, run_id, dataset_id, results_path, created, last_modified) VALUES (2, 'NOT_STARTED', NULL, NULL, NULL, NULL, NULL, 3, NULL, NULL, '2026-11-29 13:24:10.381894', '2026-11-29 13:24:10.381894');


--
-- Data for Name: process_data; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.process_data (id, process_id, data, data_type, is_input) VALUES (1, 1, 'a red square', 'str', true);
INSERT INTO __DASHAI_SCHEMA__.process_data (id, process_id, data, data_type, is_input) VALUES (2, 1, '{"size": [4, 2]}', 'json', true);
INSERT INTO __DASHAI_SCHEMA__.process_data (id, process_id, data, data_type, is_input) VALUES (3, 1, 'generative/1/1/7b3e6156feb142d6a04d7166fbbc70ef.png', 'image', false);
INSERT INTO __DASHAI_SCHEMA__.process_data (id, process_id, data, data_type, is_input) VALUES (4, 1, 'done', 'str', false);
INSERT INTO __DASHAI_SCHEMA__.process_data (id, process_id, data, data_type, is_input) VALUES (6, 3, 'still waiting', 'str', true);


--
-- Data for Name: run; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.run (id, status, huey_id, delivery_time, start_time, end_time, error, model_session_id, name, description, model_name, parameters, split_indexes, optimizer_name, optimizer_parameters, goal_metric, artifacts, run_path, plot_history_path, plot_slice_path, plot_contour_path, plot_importance_path, created, last_modified) VALUES (1, 'FINISHED', 'huey-run-1', '2026-11-29 13:24:10.096672', '2026-11-29 13:24:10.100174', '2026-11-29 13:24:10.299061', NULL, 1, 'svc', 'every level and split the first release allows', 'SVC', '{"C": 1.0, "kernel": "rbf", "tol": {"optimize": true, "lower": 0.0001, "upper": 0.01}}', '{"train": [0, 1, 2], "validation": [3], "test": [4]}', 'OptunaOptimizer', '{"n_trials": 3, "sampler": "TPESampler"}', 'accuracy', '{"model": {"path": "runs/1/model.joblib", "sha256": "5aa35d78b66c0c588c6ba4e2cadfea45046c6039983d2bf773b0d7cd65ac0e4f"}}', 'runs/1', 'runs/1/plots/history.json', 'runs/1/plots/slice.json', 'runs/1/plots/contour.json', 'runs/1/plots/importance.json', '2026-11-29 13:24:10.094486', '2026-11-29 13:24:10.299061');
INSERT INTO __DASHAI_SCHEMA__.run (id, status, huey_id, delivery_time, start_time, end_time, error, model_session_id, name, description, model_name, parameters, split_indexes, optimizer_name, optimizer_parameters, goal_metric, artifacts, run_path, plot_history_path, plot_slice_path, plot_contour_path, plot_importance_path, created, last_modified) VALUES (3, 'ERROR', NULL, '2026-11-29 13:24:10.321222', '2026-11-29 13:24:10.324997', '2026-11-29 13:24:10.341272', 'RuntimeError: diverged at step 4', 2, 'linear', NULL, 'LinearRegression', '{}', NULL, '', '{}', 'rmse', NULL, NULL, NULL, NULL, NULL, NULL, '2026-11-29 13:24:10.317828', '2026-11-29 13:24:10.341272');


--
-- Data for Name: tag; Type: TABLE DATA; Schema: __DASHAI_SCHEMA__; Owner: -
--

INSERT INTO __DASHAI_SCHEMA__.tag (id, plugin_id, name) VALUES (2, 1, 'Model');
INSERT INTO __DASHAI_SCHEMA__.tag (id, plugin_id, name) VALUES (5, 1, 'Explainer');
INSERT INTO __DASHAI_SCHEMA__.tag (id, plugin_id, name) VALUES (6, 4, 'Task');
INSERT INTO __DASHAI_SCHEMA__.tag (id, plugin_id, name) VALUES (7, 4, 'Dataloader');


--
-- Name: converter_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.converter_id_seq', 5, true);


--
-- Name: dashai_pending_deletion_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.dashai_pending_deletion_id_seq', 8, true);


--
-- Name: dataset_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.dataset_id_seq', 6, true);


--
-- Name: explorer_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.explorer_id_seq', 2, true);


--
-- Name: generative_process_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.generative_process_id_seq', 3, true);


--
-- Name: generative_session_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.generative_session_id_seq', 2, true);


--
-- Name: global_explainer_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.global_explainer_id_seq', 2, true);


--
-- Name: local_explainer_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.local_explainer_id_seq', 1, true);


--
-- Name: metric_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.metric_id_seq', 51, true);


--
-- Name: model_session_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.model_session_id_seq', 2, true);


--
-- Name: notebook_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.notebook_id_seq', 2, true);


--
-- Name: parameter_history_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.parameter_history_id_seq', 5, true);


--
-- Name: plugin_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.plugin_id_seq', 4, true);


--
-- Name: prediction_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.prediction_id_seq', 2, true);


--
-- Name: process_data_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.process_data_id_seq', 6, true);


--
-- Name: run_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.run_id_seq', 3, true);


--
-- Name: tag_id_seq; Type: SEQUENCE SET; Schema: __DASHAI_SCHEMA__; Owner: -
--

SELECT pg_catalog.setval('__DASHAI_SCHEMA__.tag_id_seq', 7, true);


--
-- Name: converter converter_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.converter
    ADD CONSTRAINT converter_pkey PRIMARY KEY (id);


--
-- Name: dashai_pending_deletion dashai_pending_deletion_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.dashai_pending_deletion
    ADD CONSTRAINT dashai_pending_deletion_pkey PRIMARY KEY (id);


--
-- Name: dashai_schema_migration dashai_schema_migration_id_key; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.dashai_schema_migration
    ADD CONSTRAINT dashai_schema_migration_id_key UNIQUE (id);


--
-- Name: dashai_schema_migration dashai_schema_migration_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.dashai_schema_migration
    ADD CONSTRAINT dashai_schema_migration_pkey PRIMARY KEY (sequence);


--
-- Name: dataset dataset_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.dataset
    ADD CONSTRAINT dataset_pkey PRIMARY KEY (id);


--
-- Name: explorer explorer_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.explorer
    ADD CONSTRAINT explorer_pkey PRIMARY KEY (id);


--
-- Name: generative_process generative_process_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.generative_process
    ADD CONSTRAINT generative_process_pkey PRIMARY KEY (id);


--
-- Name: generative_session generative_session_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.generative_session
    ADD CONSTRAINT generative_session_pkey PRIMARY KEY (id);


--
-- Name: global_explainer global_explainer_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.global_explainer
    ADD CONSTRAINT global_explainer_pkey PRIMARY KEY (id);


--
-- Name: local_explainer local_explainer_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.local_explainer
    ADD CONSTRAINT local_explainer_pkey PRIMARY KEY (id);


--
-- Name: metric metric_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.metric
    ADD CONSTRAINT metric_pkey PRIMARY KEY (id);


--
-- Name: model_session model_session_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.model_session
    ADD CONSTRAINT model_session_pkey PRIMARY KEY (id);


--
-- Name: notebook notebook_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.notebook
    ADD CONSTRAINT notebook_pkey PRIMARY KEY (id);


--
-- Name: parameter_history parameter_history_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.parameter_history
    ADD CONSTRAINT parameter_history_pkey PRIMARY KEY (id);


--
-- Name: plugin plugin_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.plugin
    ADD CONSTRAINT plugin_pkey PRIMARY KEY (id);


--
-- Name: prediction prediction_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.prediction
    ADD CONSTRAINT prediction_pkey PRIMARY KEY (id);


--
-- Name: process_data process_data_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.process_data
    ADD CONSTRAINT process_data_pkey PRIMARY KEY (id);


--
-- Name: run run_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.run
    ADD CONSTRAINT run_pkey PRIMARY KEY (id);


--
-- Name: tag tag_pkey; Type: CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.tag
    ADD CONSTRAINT tag_pkey PRIMARY KEY (id);


--
-- Name: converter_notebook_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX converter_notebook_id ON __DASHAI_SCHEMA__.converter USING btree (notebook_id);


--
-- Name: converter_notebook_id_position; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE UNIQUE INDEX converter_notebook_id_position ON __DASHAI_SCHEMA__.converter USING btree (notebook_id, "position");


--
-- Name: dashai_pending_deletion_path; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE UNIQUE INDEX dashai_pending_deletion_path ON __DASHAI_SCHEMA__.dashai_pending_deletion USING btree (path);


--
-- Name: dataset_name; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE UNIQUE INDEX dataset_name ON __DASHAI_SCHEMA__.dataset USING btree (name);


--
-- Name: explorer_notebook_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX explorer_notebook_id ON __DASHAI_SCHEMA__.explorer USING btree (notebook_id);


--
-- Name: generative_process_parameter_history_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX generative_process_parameter_history_id ON __DASHAI_SCHEMA__.generative_process USING btree (parameter_history_id);


--
-- Name: generative_process_session_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX generative_process_session_id ON __DASHAI_SCHEMA__.generative_process USING btree (session_id);


--
-- Name: generative_session_name; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE UNIQUE INDEX generative_session_name ON __DASHAI_SCHEMA__.generative_session USING btree (name);


--
-- Name: global_explainer_run_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX global_explainer_run_id ON __DASHAI_SCHEMA__.global_explainer USING btree (run_id);


--
-- Name: local_explainer_dataset_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX local_explainer_dataset_id ON __DASHAI_SCHEMA__.local_explainer USING btree (dataset_id);


--
-- Name: local_explainer_run_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX local_explainer_run_id ON __DASHAI_SCHEMA__.local_explainer USING btree (run_id);


--
-- Name: metric_run_id_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX metric_run_id_id ON __DASHAI_SCHEMA__.metric USING btree (run_id, id);


--
-- Name: metric_run_id_split_level_name_step; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE UNIQUE INDEX metric_run_id_split_level_name_step ON __DASHAI_SCHEMA__.metric USING btree (run_id, split, level, name, step);


--
-- Name: model_session_dataset_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX model_session_dataset_id ON __DASHAI_SCHEMA__.model_session USING btree (dataset_id);


--
-- Name: model_session_name; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE UNIQUE INDEX model_session_name ON __DASHAI_SCHEMA__.model_session USING btree (name);


--
-- Name: notebook_dataset_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX notebook_dataset_id ON __DASHAI_SCHEMA__.notebook USING btree (dataset_id);


--
-- Name: parameter_history_session_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX parameter_history_session_id ON __DASHAI_SCHEMA__.parameter_history USING btree (session_id);


--
-- Name: plugin_name; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE UNIQUE INDEX plugin_name ON __DASHAI_SCHEMA__.plugin USING btree (name);


--
-- Name: prediction_dataset_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX prediction_dataset_id ON __DASHAI_SCHEMA__.prediction USING btree (dataset_id);


--
-- Name: prediction_run_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX prediction_run_id ON __DASHAI_SCHEMA__.prediction USING btree (run_id);


--
-- Name: process_data_process_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX process_data_process_id ON __DASHAI_SCHEMA__.process_data USING btree (process_id);


--
-- Name: run_model_session_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX run_model_session_id ON __DASHAI_SCHEMA__.run USING btree (model_session_id);


--
-- Name: run_status; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX run_status ON __DASHAI_SCHEMA__.run USING btree (status);


--
-- Name: tag_plugin_id; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE INDEX tag_plugin_id ON __DASHAI_SCHEMA__.tag USING btree (plugin_id);


--
-- Name: tag_plugin_id_name; Type: INDEX; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE UNIQUE INDEX tag_plugin_id_name ON __DASHAI_SCHEMA__.tag USING btree (plugin_id, name);


--
-- Name: parameter_history parameter_history_append_only; Type: TRIGGER; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TRIGGER parameter_history_append_only BEFORE DELETE OR UPDATE ON __DASHAI_SCHEMA__.parameter_history FOR EACH ROW EXECUTE FUNCTION __DASHAI_SCHEMA__.parameter_history_append_only();


--
-- Name: parameter_history parameter_history_no_truncate; Type: TRIGGER; Schema: __DASHAI_SCHEMA__; Owner: -
--

CREATE TRIGGER parameter_history_no_truncate BEFORE TRUNCATE ON __DASHAI_SCHEMA__.parameter_history FOR EACH STATEMENT EXECUTE FUNCTION __DASHAI_SCHEMA__.parameter_history_append_only();


--
-- Name: converter converter_notebook_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.converter
    ADD CONSTRAINT converter_notebook_id_fkey FOREIGN KEY (notebook_id) REFERENCES __DASHAI_SCHEMA__.notebook(id) ON DELETE CASCADE;


--
-- Name: explorer explorer_notebook_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.explorer
    ADD CONSTRAINT explorer_notebook_id_fkey FOREIGN KEY (notebook_id) REFERENCES __DASHAI_SCHEMA__.notebook(id) ON DELETE CASCADE;


--
-- Name: generative_process generative_process_parameter_history_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.generative_process
    ADD CONSTRAINT generative_process_parameter_history_id_fkey FOREIGN KEY (parameter_history_id) REFERENCES __DASHAI_SCHEMA__.parameter_history(id) ON DELETE CASCADE;


--
-- Name: generative_process generative_process_session_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.generative_process
    ADD CONSTRAINT generative_process_session_id_fkey FOREIGN KEY (session_id) REFERENCES __DASHAI_SCHEMA__.generative_session(id) ON DELETE CASCADE;


--
-- Name: global_explainer global_explainer_run_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.global_explainer
    ADD CONSTRAINT global_explainer_run_id_fkey FOREIGN KEY (run_id) REFERENCES __DASHAI_SCHEMA__.run(id) ON DELETE CASCADE;


--
-- Name: local_explainer local_explainer_dataset_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.local_explainer
    ADD CONSTRAINT local_explainer_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES __DASHAI_SCHEMA__.dataset(id) ON DELETE CASCADE;


--
-- Name: local_explainer local_explainer_run_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.local_explainer
    ADD CONSTRAINT local_explainer_run_id_fkey FOREIGN KEY (run_id) REFERENCES __DASHAI_SCHEMA__.run(id) ON DELETE CASCADE;


--
-- Name: metric metric_run_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.metric
    ADD CONSTRAINT metric_run_id_fkey FOREIGN KEY (run_id) REFERENCES __DASHAI_SCHEMA__.run(id) ON DELETE CASCADE;


--
-- Name: model_session model_session_dataset_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.model_session
    ADD CONSTRAINT model_session_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES __DASHAI_SCHEMA__.dataset(id) ON DELETE CASCADE;


--
-- Name: notebook notebook_dataset_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.notebook
    ADD CONSTRAINT notebook_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES __DASHAI_SCHEMA__.dataset(id) ON DELETE CASCADE;


--
-- Name: parameter_history parameter_history_session_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.parameter_history
    ADD CONSTRAINT parameter_history_session_id_fkey FOREIGN KEY (session_id) REFERENCES __DASHAI_SCHEMA__.generative_session(id) ON DELETE CASCADE;


--
-- Name: prediction prediction_dataset_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.prediction
    ADD CONSTRAINT prediction_dataset_id_fkey FOREIGN KEY (dataset_id) REFERENCES __DASHAI_SCHEMA__.dataset(id) ON DELETE CASCADE;


--
-- Name: prediction prediction_run_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.prediction
    ADD CONSTRAINT prediction_run_id_fkey FOREIGN KEY (run_id) REFERENCES __DASHAI_SCHEMA__.run(id) ON DELETE CASCADE;


--
-- Name: process_data process_data_process_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.process_data
    ADD CONSTRAINT process_data_process_id_fkey FOREIGN KEY (process_id) REFERENCES __DASHAI_SCHEMA__.generative_process(id) ON DELETE CASCADE;


--
-- Name: run run_model_session_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.run
    ADD CONSTRAINT run_model_session_id_fkey FOREIGN KEY (model_session_id) REFERENCES __DASHAI_SCHEMA__.model_session(id) ON DELETE CASCADE;


--
-- Name: tag tag_plugin_id_fkey; Type: FK CONSTRAINT; Schema: __DASHAI_SCHEMA__; Owner: -
--

ALTER TABLE ONLY __DASHAI_SCHEMA__.tag
    ADD CONSTRAINT tag_plugin_id_fkey FOREIGN KEY (plugin_id) REFERENCES __DASHAI_SCHEMA__.plugin(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--


